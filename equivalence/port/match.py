"""Pair a torch model's leaf layers with its NNX twin's by path: `features.3` <-> `features[3]` / `features.layers.3`."""

from __future__ import annotations

import re
from typing import NamedTuple

import torch.nn as nn
from flax import nnx

from . import layers  # noqa: F401  (registers the built-in rules)
from .errors import PortError
from .rules import Rule, rule_for


class Pair(NamedTuple):
    torch_name: str
    nnx_path: str
    rule: Rule
    torch_module: nn.Module
    nnx_module: nnx.Module


def canonical(path: str) -> str:
    """`features[3]` and `features.layers.3` (an nnx.Sequential's list) both as `features.3`."""
    path = re.sub(r"\[(\w+)\]", r".\1", path).strip(".")
    return re.sub(r"(^|\.)layers\.(\d+)", r"\1\2", path)


def nnx_modules(model: nnx.Module) -> dict[str, nnx.Module]:
    """Every NNX submodule by dotted path (the root is '')."""
    return {".".join(str(p) for p in path): node for path, node in nnx.iter_graph(model)
            if isinstance(node, nnx.Module)}


def _own_state(module: nn.Module) -> bool:
    return any(True for _ in module.parameters(recurse=False)) or any(
        True for _ in module.buffers(recurse=False))


def torch_leaves(model: nn.Module) -> list[tuple[str, nn.Module, Rule | None]]:
    """Modules with a rule (their children belong to them), and rule-less modules that hold tensors."""
    out, inside = [], []
    for name, module in model.named_modules():
        if any(p == "" or name.startswith(p + ".") for p in inside):
            continue
        rule = rule_for(module)
        if rule is not None:
            out.append((name, module, rule))
            inside.append(name)
        elif _own_state(module):
            out.append((name, module, None))
    return out


def _has_params(module: nnx.Module) -> bool:
    return any(isinstance(v, (nnx.Param, nnx.BatchStat)) for v in vars(module).values())


def pairs(torch_model: nn.Module, nnx_model: nnx.Module, names: dict[str, str] | None = None) -> list[Pair]:
    """The matched leaves, in torch registration order; refuses what cannot be paired, with the fix."""
    names = dict(names or {})
    by_path = nnx_modules(nnx_model)
    by_canonical = {canonical(p): p for p in by_path}
    found, used = [], set()
    for tname, tmod, rule in torch_leaves(torch_model):
        label = tname or "(the root module)"
        if rule is None:
            raise PortError(
                f"{label}: {type(tmod).__name__} holds parameters or buffers but has no port rule; "
                "register one with equivalence.port.register(Rule(...)) or port its children as known layers.")
        want = names.pop(tname, None)
        path = by_canonical.get(canonical(want if want is not None else tname))
        if path is None:
            where = f"names[{tname!r}] = {want!r}" if want is not None else f"NNX path {tname!r}"
            raise PortError(
                f"{label}: torch {type(tmod).__name__} has no NNX partner ({where} not found); "
                f"give its NNX path with names={{{tname!r}: 'path.in.nnx'}}.")
        nmod = by_path[path]
        if not rule.fits(tmod, nmod):
            want_types = "/".join(t.__name__ for t in rule.nnx_types)
            raise PortError(
                f"{label}: torch {type(tmod).__name__} pairs with NNX {type(nmod).__name__} at {path!r}, "
                f"but rule {rule.name} needs nnx {want_types}; fix the twin or pass names={{{tname!r}: ...}}.")
        found.append(Pair(tname, path, rule, tmod, nmod))
        used.add(path)
    if names:
        key = next(iter(names))
        raise PortError(f"names[{key!r}]: {key!r} is not a leaf layer of the torch model; "
                        "use a name from named_modules() of a layer with a rule.")
    covered = [p.nnx_path for p in found]
    for path, nmod in by_path.items():
        inside = any(path == c or path.startswith(c + ".") or not c for c in covered) if covered else False
        if _has_params(nmod) and not inside:
            raise PortError(
                f"NNX {path or '(the root module)'}: {type(nmod).__name__} holds variables but no torch layer "
                "pairs with it; add the layer to the torch model or map it with names={'torch.name': ...}.")
    return found
