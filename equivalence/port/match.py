"""Pair a torch model's leaf layers with its NNX twin's: by path, by `names=` patterns, then by structure."""

from __future__ import annotations

import dataclasses
import difflib
import functools
from dataclasses import dataclass, field

from flax import nnx
from torch import nn

from . import layers, layers_hf  # noqa: F401  (registers the built-in rules)
from .errors import PortError
from .modules import (
    _relative,
    _under,
    nnx_modules,
    nnx_own_variables,
    torch_own_tensors,
)
from .names import Lookup, canonical, compile_names, mapped
from .rules import Rule, candidates, choose, fit_shape

__all__ = ["Pair", "Pairing", "canonical", "nnx_modules", "nnx_own_variables", "pair_models", "pairs",
           "torch_own_tensors"]


@dataclass(frozen=True)
class Pair:
    torch_name: str
    nnx_path: str
    rule: Rule
    torch_module: nn.Module
    nnx_module: nnx.Module
    how: str = "path"  # path, names, structure
    torch_skip: tuple[str, ...] = ()  # children paired on their own (a composite rule's)
    nnx_skip: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return self.torch_name or "(root)"

    @functools.cached_property
    def variables(self) -> dict:
        """The NNX leaf's own parameters and batch statistics (read once: they are updated in place)."""
        return nnx_own_variables(self.nnx_module, self.nnx_skip)


@dataclass
class Pairing:
    """The leaves in torch registration order, and what was skipped on the way (one note each)."""

    pairs: list[Pair]
    notes: list[str] = field(default_factory=list)

    def __iter__(self):
        return iter(self.pairs)

    def __len__(self) -> int:
        return len(self.pairs)

    def __str__(self) -> str:
        w = max([len(p.label) for p in self.pairs] + [5])
        v = max([len(p.nnx_path or "(root)") for p in self.pairs] + [3])
        lines = [f"{'torch':<{w}}  {'nnx':<{v}}  {'rule':<18} paired by"]
        lines += [f"{p.label:<{w}}  {p.nnx_path or '(root)':<{v}}  {p.rule.name:<18} {p.how}" for p in self.pairs]
        return "\n".join(lines + [f"note: {n}" for n in self.notes])


def _fits_shapes(rule: Rule, tmod, nmod, cache: dict) -> bool:
    key = (id(rule), id(tmod))
    if key not in cache:
        try:
            cache[key] = rule.to_nnx(tmod, {k: v.detach().cpu().numpy() for k, v in torch_own_tensors(tmod).items()})
        except Exception:  # noqa: BLE001 - a rule that cannot convert this module does not fit it
            cache[key] = None
    if id(nmod) not in cache:
        cache[id(nmod)] = {k: tuple(v.get_value().shape) for k, v in nnx_own_variables(nmod).items()}
    want, have = cache[key], cache[id(nmod)]
    if want is None or set(want) != set(have):
        return False
    return all(fit_shape(a, have[k], lead=False) is not None if rule.reshape else tuple(a.shape) == have[k]
               for k, a in want.items())


@functools.lru_cache(maxsize=65536)
def _similarity(a: str, b: str) -> float:
    a, b = a.lower(), b.lower()
    last_a, last_b = a.split(".")[-1], b.split(".")[-1]
    return difflib.SequenceMatcher(None, a, b).ratio() + (0.5 if last_a[:1] == last_b[:1] else 0.0)


def _whole(entry, name: str) -> bool:
    """The names entry names this module itself, not one of its ancestors."""
    m = entry.pattern.match(name)
    return m is not None and not m.groups()[entry.stars]


class _Walk:
    def __init__(self, torch_model: nn.Module, nnx_model: nnx.Module, names, order=None):
        self.order, self.ranks = order, None
        self.names, self.used_names = compile_names(names), set()
        self.by_path = nnx_modules(nnx_model)
        self.lookup = Lookup(self.by_path)
        self.pairs: list[Pair] = []
        self.unmatched: list[tuple[str, nn.Module, str]] = []
        self.notes: list[str] = []
        self.taken: set[str] = set()
        self.walk("", torch_model)

    def nnx_for(self, name: str):
        target, entry = mapped(name, self.names, self.used_names)
        path = self.lookup(target)
        return target, entry, (path if path is not None and path not in self.taken else None)

    def walk(self, name: str, module: nn.Module) -> None:
        label = name or "(the root module)"
        target, entry, path = self.nnx_for(name)
        cands = candidates(module)
        if cands:
            rule = choose(module, self.by_path[path]) if path is not None else None
            if rule is not None:
                self.pairs.append(Pair(name, path, rule, module, self.by_path[path], "names" if entry else "path"))
                self.taken.add(path)
                if not rule.composite:
                    return
            elif any(r.accepts is None for r in cands) or any(True for _ in module.parameters(recurse=False)):
                if entry is not None and path is not None and _whole(entry, name):
                    nmod = self.by_path[path]
                    want = "/".join(t.__name__ for r in cands for t in r.nnx_types)
                    raise PortError(f"{label}: torch {type(module).__name__} pairs with NNX {type(nmod).__name__} at "
                                    f"{path!r}, but rule {cands[0].name} needs nnx {want}; fix the twin or pass "
                                    f"names={{{name!r}: ...}}.")
                self.unmatched.append((name, module, target))
                return
        elif any(True for _ in module.parameters(recurse=False)):
            raise PortError(f"{label}: {type(module).__name__} holds parameters or buffers but has no port rule; "
                            "register one with equivalence.port.register(Rule(...)) or port its children as known "
                            "layers.")
        elif any(True for _ in module.buffers(recurse=False)) and not any(True for _ in module.parameters()):
            self.notes.append(f"{label}: {type(module).__name__} holds buffers only (e.g. rotary tables), no "
                              "parameters: skipped, its arithmetic is checked where its result is used.")
        for child_name, child in module.named_children():
            self.walk(f"{name}.{child_name}" if name else child_name, child)

    def scope(self, name: str) -> str:
        """The NNX path of the deepest torch ancestor that exists on the NNX side ('' for the root)."""
        parts = name.split(".")
        for k in range(len(parts) - 1, 0, -1):
            path = self.lookup(mapped(".".join(parts[:k]), self.names)[0])
            if path is not None:
                return path
        return ""

    def free(self) -> dict[str, nnx.Module]:
        covered = [p.nnx_path for p in self.pairs if not p.rule.composite]
        return {path: m for path, m in self.by_path.items()
                if path not in self.taken and not _under(path, covered)
                and not any(_under(t, [path]) for t in self.taken)}

    def by_structure(self) -> None:
        """Leaves whose path has no partner: the NNX modules under the same scope whose rule and shapes fit."""
        free, options, scopes, cache = self.free(), {}, {}, {}
        for name, module, target in self.unmatched:
            scopes[name] = scope = self.scope(name)
            options[name] = [p for p, m in free.items() if _under(p, [scope]) and p != scope
                             and (r := choose(module, m)) is not None and _fits_shapes(r, module, m, cache)]
        modules = self._modules = {name: module for name, module, _ in self.unmatched}
        targets = {name: target for name, _, target in self.unmatched}
        while options:
            name, opts = min(options.items(), key=lambda kv: len(kv[1]))
            if not opts:
                if self._tied(name, modules[name]):
                    options.pop(name)
                    continue
                raise PortError(f"{name}: torch {type(modules[name]).__name__} has no NNX partner (NNX path "
                                f"{targets[name]!r} not found, and no unpaired NNX layer of its type and shapes "
                                f"under {scopes[name] or 'the root'!r}); give its NNX path with "
                                f"names={{{name!r}: 'path.in.nnx'}}.")
            if len(opts) == 1:
                rivals = [n for n, o in options.items() if n != name and o == opts]
                if not rivals:
                    self._assign(name, modules[name], opts[0], options)
                    continue
            if self._by_siblings(options) or self._by_order(options):
                continue
            choice = self._by_name(options, scopes)
            if choice is None:
                raise PortError(f"{name}: torch {type(modules[name]).__name__} fits {len(opts)} NNX layers equally "
                                f"({', '.join(opts[:3])}); say which with names={{{name!r}: 'path.in.nnx'}}.")
            self._assign(*choice, options)

    def _by_siblings(self, options) -> bool:
        """A leaf whose siblings are paired takes the candidate beside their partners (a conv's BatchNorm)."""
        for name, opts in options.items():
            parent = name.rpartition(".")[0]
            beside = {p.nnx_path.rpartition(".")[0] for p in self.pairs
                      if p.torch_name.rpartition(".")[0] == parent and p.torch_name != parent}
            narrowed = [o for o in opts if o.rpartition(".")[0] in beside]
            if len(opts) > 1 and len(narrowed) == 1:
                self._assign(name, self._modules[name], narrowed[0], options)
                return True
        return False

    def _by_order(self, options) -> bool:
        """Torch leaves that fit the same NNX layers, paired in the order each side calls them."""
        if self.order is None:
            return False
        if self.ranks is None:
            self.ranks = self.order()
        t_rank, n_rank = self.ranks
        for opts in options.values():
            group = [n for n, o in options.items() if set(o) == set(opts)]
            if len(opts) < 2 or len(group) != len(opts) or not all(n in t_rank for n in group) \
                    or not all(p in n_rank for p in opts):
                continue
            paths = sorted(opts, key=n_rank.get)
            for n, p in zip(sorted(group, key=t_rank.get), paths):
                self._assign(n, self._modules[n], p, options)
            return True
        return False

    def _by_name(self, options, scopes):
        """A torch leaf and an NNX layer that prefer each other by name (q_proj and query), strictly."""
        def score(name, path):
            depth = len(scopes[name].split(".")) if scopes[name] else 0
            return _similarity(".".join(name.split(".")[depth:]), _relative(path, scopes[name]))

        for name, opts in options.items():
            ranked = sorted(opts, key=lambda p: -score(name, p))
            if len(ranked) > 1 and score(name, ranked[0]) <= score(name, ranked[1]):
                continue
            rivals = [n for n, o in options.items() if n != name and ranked[0] in o]
            if all(score(n, ranked[0]) < score(name, ranked[0]) for n in rivals):
                return name, self._modules[name], ranked[0]
        return None

    def _assign(self, name, module, path, options) -> None:
        self.pairs.append(Pair(name, path, choose(module, self.by_path[path]), module, self.by_path[path],
                               "structure"))
        self.taken.add(path)
        options.pop(name)
        for opts in options.values():
            if path in opts:
                opts.remove(path)

    def _tied(self, name: str, module: nn.Module) -> bool:
        mine = [id(p) for p in module.parameters()]
        others = {id(p): q.label for q in self.pairs for p in q.torch_module.parameters()}
        if mine and all(i in others for i in mine):
            self.notes.append(f"{name}: its parameters are {others[mine[0]]}'s (tied weights) and the NNX side has "
                              "no layer of its own for it: not paired; the tied tensor is checked there.")
            return True
        return False


def pair_models(torch_model: nn.Module, nnx_model: nnx.Module, names: dict[str, str] | None = None, *,
                order=None) -> Pairing:
    """The matched leaves, in torch registration order; refuses what cannot be paired, with the fix.

    By path, then by ``names`` (`*` patterns, prefixes of paths), then by structure: an unpaired torch
    leaf takes the unpaired NNX layer under the same scope whose rule and shapes fit; ties go to the
    closer name (q_proj and query), then to call order when ``order`` (see order.probe) can run both.
    """
    w = _Walk(torch_model, nnx_model, names, order)
    unused = [n.key for n in w.names if n.key not in w.used_names]
    if unused:
        raise PortError(f"names[{unused[0]!r}]: {unused[0]!r} matches no module of the torch model; use a path "
                        "from named_modules() ('*' stands for one segment).")
    if w.unmatched:
        w.by_structure()
    order = {name: i for i, (name, _) in enumerate(torch_model.named_modules())}
    found = sorted(w.pairs, key=lambda p: order.get(p.torch_name, 0))
    covered = [p.nnx_path for p in found]
    for path, module in w.by_path.items():
        own = [v for v in vars(module).values() if isinstance(v, (nnx.Param, nnx.BatchStat))]
        if own and not _under(path, covered):
            raise PortError(
                f"NNX {path or '(the root module)'}: {type(module).__name__} holds variables but no torch layer "
                "pairs with it; add the layer to the torch model or map it with names={'torch.name': ...}.")
    out = []
    for p in found:
        t_skip = tuple(_relative(q.torch_name, p.torch_name) for q in found
                       if q is not p and _under(q.torch_name, [p.torch_name]) and q.torch_name != p.torch_name)
        n_skip = tuple(_relative(q.nnx_path, p.nnx_path) for q in found
                       if q is not p and _under(q.nnx_path, [p.nnx_path]) and q.nnx_path != p.nnx_path)
        out.append(dataclasses.replace(p, torch_skip=t_skip, nnx_skip=n_skip))
    return Pairing(out, w.notes)


def pairs(torch_model: nn.Module, nnx_model: nnx.Module, names: dict[str, str] | None = None) -> list[Pair]:
    """The pairs alone (see :func:`pair_models`)."""
    return pair_models(torch_model, nnx_model, names).pairs
