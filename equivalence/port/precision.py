"""Known precision causes: where a side computes below the check's dtype, and whether that explains an error."""

from __future__ import annotations

import re

import numpy as np

from equivalence.tolerance import INTERNAL, TOLERANCES

from .capture import LowSites

LOW_NAMES = {"float64": ("float32", "float16", "bfloat16"), "float32": ("float16", "bfloat16")}
_LEAF = re.compile(r"port_leaf_(\d+)")
FORCED_SCOPE = "port_forced"


def _subjaxprs(params: dict):
    for v in params.values():
        for item in v if isinstance(v, (tuple, list)) else (v,):
            inner = getattr(item, "jaxpr", item)
            if hasattr(inner, "eqns"):
                yield inner


def _eqns(jaxpr, stack: str = ""):
    for eqn in jaxpr.eqns:
        here = "/".join(s for s in (stack, str(eqn.source_info.name_stack)) if s)
        yield eqn, here
        for inner in _subjaxprs(eqn.params):
            yield from _eqns(inner, here)


def nnx_sites(jaxpr, dtype: str, composite: set[int]) -> LowSites:
    """Low-precision operations of the teacher-forced pass, by the leaf (call) whose scope they run in."""
    low, sites, seen = LOW_NAMES[dtype], LowSites(), -1
    for eqn, stack in _eqns(jaxpr):
        if FORCED_SCOPE not in stack:
            continue
        leaves = [int(k) for k in _LEAF.findall(stack)]
        seen = max([seen, *leaves])
        dtypes = [str(getattr(v.aval, "dtype", "")) for v in eqn.outvars]
        hit = next((d for d in dtypes if d in low), None)
        if hit is None:
            continue
        what = f"{eqn.primitive.name} -> {hit}"
        if leaves:
            sites.own.setdefault(leaves[-1], what)
            if leaves[-1] not in composite:
                continue
        else:
            sites.outside = sites.outside or what
        sites.gap.setdefault(seen + 1, what)
    return sites


def low_tolerance(dtype: str, what: str) -> tuple[str, float]:
    """The table entry of the lowest precision named in a site description, and its tolerance."""
    table = {**TOLERANCES, **INTERNAL}
    for name in ("bfloat16", "float16", "float32"):
        if name in what:
            return name, table[name].rel
    return dtype, TOLERANCES[dtype].rel


FIXES = {
    "torch": "compare in float32 (dtype='float32'), or patch the torch module to compute in the input dtype",
    "nnx": "compare in float32, or keep the input dtype in the twin (nnx.MultiHeadAttention: attention_fn= "
           "a softmax in the input dtype, docs/port.md; norms: no cast to float32)",
}


def explain(kind: str, calls: tuple[int, int], inputs: int, error: float, dtype: str, torch_sites: LowSites,
            nnx_sites_: LowSites) -> tuple[str, float] | None:
    """Why a local error at this size is the arithmetic one side chose, or None when it is not explained."""
    if not np.isfinite(error) or dtype not in LOW_NAMES:
        return None
    for side, sites, call in (("torch", torch_sites, calls[0]), ("nnx", nnx_sites_, calls[1])):
        where = sites.own.get(call) if kind == "leaf" else sites.gap.get(call)
        reach = None
        if where is None and sites.outside is not None and (kind == "gap" or inputs > 1):
            where, reach = sites.outside, "outside the layers (a table or mask it receives)"
        if where is None:
            continue
        name, tol = low_tolerance(dtype, where)
        if error <= tol:
            place = reach or ("inside this layer" if kind == "leaf" else "in the code before this layer")
            why = (f"{'torch' if side == 'torch' else 'the NNX twin'} computes in {name} {place} ({where}): "
                   f"{error:.1e} is {name} rounding, within its tolerance {tol:.0e}; fix: {FIXES[side]}")
            return why, tol
    return None
