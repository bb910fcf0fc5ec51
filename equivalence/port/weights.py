"""Weights the user's own way: check a twin that is already loaded, or load a state_dict / .safetensors through the rules."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import torch
from flax import nnx
from torch import nn

from .copy import SKIPPED_BUFFERS, convert, fit, key, nnx_variables, write
from .errors import PortError
from .match import Pair, Pairing, pair_models, torch_own_tensors
from .report import Row, row


def loaded_rows(pairing: Pairing, tol: float) -> list[Row]:
    """Every NNX variable of a loaded twin against torch's tensor through the rules: one 'weight' row each.

    A variable torch does not fill (extra), a tensor the twin lacks (missing) and a shape that differs
    are rows with an infinite error and a note naming the key.
    """
    from .copy import torch_arrays

    rows = []
    for pair in pairing:
        have = nnx_variables(pair)
        want = convert(pair, torch_arrays(pair), have)
        for k in sorted(set(want) | set(have)):
            name = f"{pair.label}:{k}"
            if k not in have:
                rows.append(Row("weight", name, np.inf, np.inf, tol, False, f"missing: the twin has no {key(pair, k)}"))
            elif k not in want:
                rows.append(Row("weight", name, np.inf, np.inf, tol, False, f"extra: torch does not fill {key(pair, k)}"))
            else:
                r = row("weight", name, want[k], np.asarray(have[k].get_value()), tol)
                r.note = r.note or ("" if r.passed else f"mismatched: {key(pair, k)} is not torch's {k}")
                rows.append(r)
    return rows


@dataclass(frozen=True)
class Entry:
    torch_keys: tuple[str, ...]
    nnx_path: str
    shape: tuple
    transform: str


@dataclass
class Mapping_:
    """What `load` wrote: torch key(s) -> NNX path, shape, transform; printable as a table to keep."""

    entries: list[Entry]
    unused: list[str]

    def __iter__(self):
        return iter(self.entries)

    def __str__(self) -> str:
        w = max([len(", ".join(e.torch_keys)) for e in self.entries] + [9])
        v = max([len(e.nnx_path) for e in self.entries] + [8])
        lines = [f"{'torch key':<{w}}  {'nnx path':<{v}}  {'shape':<16} transform"]
        lines += [f"{', '.join(e.torch_keys):<{w}}  {e.nnx_path:<{v}}  {e.shape!s:<16} {e.transform}"
                  for e in self.entries]
        if self.unused:
            lines.append(f"not used ({len(self.unused)}): {', '.join(self.unused[:8])}"
                         + (" ..." if len(self.unused) > 8 else ""))
        return "\n".join(lines)


def _read(source) -> dict[str, np.ndarray]:
    if isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)
        if not path.endswith(".safetensors"):
            raise PortError(f"{path!r}: give a .safetensors file or an in-memory state_dict; pickled checkpoints "
                            "(.bin, .pt) are never opened (unpickling runs code).")
        try:
            from safetensors.numpy import load_file
            return dict(load_file(path))
        except (OSError, ValueError, ImportError) as err:
            raise PortError(f"cannot read {path!r} as safetensors: {err}.") from None
    if isinstance(source, Mapping):
        return {k: (v.detach().cpu().numpy() if isinstance(v, torch.Tensor) else np.asarray(v))
                for k, v in source.items()}
    raise PortError(f"load: {type(source).__name__} is neither a state_dict nor a path to a .safetensors file.")


def _transform(pair: Pair, torch_shapes: list[tuple], shape: tuple) -> str:
    moves = " + ".join(str(s) for s in torch_shapes)
    return f"{pair.rule.name}: {moves} -> {shape}" if torch_shapes != [shape] else f"{pair.rule.name}: as is"


def load(nnx_model: nnx.Module, source, *, torch_model: nn.Module, names: dict[str, str] | None = None) -> Mapping_:
    """Load a torch state_dict (or a .safetensors file of one) into the twin through the rules, in place.

    ``torch_model`` gives the structure (its own tensors are not used). Every tensor the twin needs must
    be present (one PortError line names the first missing key); keys no rule uses are listed as unused.
    """
    arrays = _read(source)
    pairing = pair_models(torch_model, nnx_model, names)
    plan, entries, used = [], [], set()
    for pair in pairing:
        prefix = f"{pair.torch_name}." if pair.torch_name else ""
        local = {}
        for k in torch_own_tensors(pair.torch_module, pair.torch_skip):
            if k.split(".")[-1] in SKIPPED_BUFFERS:
                continue
            if prefix + k not in arrays:
                raise PortError(f"load: {prefix + k!r} is missing from the state_dict ({len(arrays)} keys); it fills "
                                f"{pair.nnx_path or '(root)'} of the twin.")
            local[k] = arrays[prefix + k]
            used.add(prefix + k)
        have = nnx_variables(pair)
        want = convert(pair, local, have)
        fit(pair, want, have, "NNX")
        plan.append((pair, want))
        for k, a in want.items():
            source_keys = [s for s, t in local.items() if t.size == np.size(a)
                           and np.array_equal(np.sort(t.ravel()), np.sort(np.ravel(a)))] or list(local)
            entries.append(Entry(tuple(prefix + s for s in source_keys), key(pair, k), tuple(np.shape(a)),
                                 _transform(pair, [tuple(local[s].shape) for s in source_keys], tuple(np.shape(a)))))
    write(plan)
    return Mapping_(entries, sorted(set(arrays) - used))
