"""The direct check's own weight copier and dtype cast: test scaffolding that needs no port engine."""

from __future__ import annotations

import re
from typing import Callable

import jax.numpy as jnp
import numpy as np
import torch
from flax import nnx


def _variables(twin: nnx.Module) -> dict[str, nnx.Variable]:
    """Every Param and BatchStat of the twin by dotted path (list items as numbers)."""
    return {".".join(map(str, p)): v for p, v in nnx.iter_graph(twin) if isinstance(v, (nnx.Param, nnx.BatchStat))}


def _torch_tensors(model: torch.nn.Module) -> dict[str, np.ndarray]:
    """Parameters and persistent floating buffers by full name; a tied weight appears once (its first name).

    Non-persistent buffers (RoPE's inv_freq) are derived from the config, which the twin reads itself."""
    persistent = model.state_dict().keys()
    out = {k: v.detach().numpy() for k, v in model.named_parameters()}
    out.update({k: v.detach().numpy() for k, v in model.named_buffers() if v.is_floating_point() and k in persistent})
    return out


def _glob(pattern: str) -> re.Pattern:
    return re.compile("^" + re.escape(pattern).replace(r"\*", r"([^.]+)") + "$")


def _layout(path: str, a: np.ndarray, target: tuple[int, ...], conv1d: bool) -> np.ndarray:
    """Torch layouts into NNX ones: Linear (out, in) -> (in, out), conv OIHW -> HWIO, then the target's shape."""
    if path.endswith("kernel") and a.ndim == 4:
        # a conv read as a Linear over (C, kh, kw)-flattened patches keeps torch's flatten order
        a = a.transpose(2, 3, 1, 0) if len(target) == 4 else a.reshape(a.shape[0], -1).T
    elif path.endswith("kernel") and a.ndim == 2 and not conv1d:  # GPT-2's Conv1D is already (in, out)
        a = a.T
    return a.reshape(target)


def copy_into(model: torch.nn.Module, twin: nnx.Module, table: dict[str, str], conv1d: tuple[str, ...] = ()) -> None:
    """Copy every torch tensor into the twin variable that ``table`` names (torch glob -> NNX glob, ``*`` each).

    Keys end at a tensor (``...query.weight``) or at a module (all its tensors, same local names mapped by
    ``weight``->``kernel``/``embedding``/``scale``, ``running_mean``->``mean``, ``running_var``->``var``).
    ``conv1d`` lists globs of GPT-2 Conv1D modules, whose weight is already (in, out). Every torch tensor
    must land somewhere and every twin variable must be filled: the direct check is complete or fails.
    """
    tensors, variables = _torch_tensors(model), _variables(twin)
    filled: set[str] = set()
    local = {"bias": ["bias"], "weight": ["kernel", "embedding", "scale"], "running_mean": ["mean"],
             "running_var": ["var"]}
    for name, a in tensors.items():
        mod, _, leaf = name.rpartition(".")
        # a key naming the tensor itself wins over one naming its module
        hits = [(m, npat, True) for tpat, npat in table.items() if (m := _glob(tpat).match(name))]
        hits += [(m, npat, False) for tpat, npat in table.items() if (m := _glob(tpat).match(mod))]
        assert hits, f"torch tensor {name} has no entry in the copy table"
        match, base, whole = hits[0]
        for g in match.groups():
            base = base.replace("*", g, 1)
        cands = [base] if whole else [f"{base}.{n}" for n in local.get(leaf, [leaf])]
        path = next((c for c in cands if c in variables), None)
        assert path is not None, f"{name} -> {cands}: no such twin variable"
        v, raw = variables[path], variables[path].get_raw_value()  # raw: an array, or eval_shape's ShapeDtypeStruct
        conv = any(_glob(c).match(mod) for c in conv1d)
        v.set_value(jnp.asarray(_layout(path, a, tuple(raw.shape), conv), dtype=raw.dtype))
        filled.add(path)
    missing = sorted(set(variables) - filled)
    assert not missing, f"twin variables not filled: {missing}"


def build(make: Callable[[], nnx.Module]) -> nnx.Module:
    """A twin built without running its initialisers (compiling them costs seconds), its variables zero."""
    twin = nnx.eval_shape(make)
    for v in _variables(twin).values():
        raw = v.get_raw_value()
        v.set_value(jnp.asarray(np.zeros(raw.shape, raw.dtype)))
    return twin


def cast(twin: nnx.Module, dtype) -> nnx.Module:
    """A copy of the twin in ``dtype``: its variables and the compute dtypes its layers froze at construction."""
    twin = nnx.clone(twin)
    for _, node in nnx.iter_graph(twin):
        if isinstance(node, nnx.Variable) and jnp.issubdtype(node.get_value().dtype, jnp.floating):
            node.set_value(jnp.asarray(node.get_value(), dtype))
        elif isinstance(node, nnx.Module):
            for attr in ("dtype", "param_dtype"):
                if getattr(node, attr, None) is not None and jnp.issubdtype(getattr(node, attr), jnp.floating):
                    setattr(node, attr, dtype)
    return twin


def relative(a, b) -> float:
    """Normwise relative error of ``b`` against the reference ``a``."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(a), 1e-300))

