"""The direct check, no port engine involved: HF's float64 output against the twin's, weights copied by hand."""

from __future__ import annotations

import contextlib
import copy

import jax
import jax.numpy as jnp
import numpy as np
import torch
from flax import nnx

from . import weights
from .cases import Case


def _arrays(kwargs: dict | None, to) -> dict:
    """Call arguments with their NumPy arrays made the side's own (as port.compare does)."""
    return {k: to(v) if isinstance(v, np.ndarray) else v for k, v in (kwargs or {}).items()}


def outputs(case: Case, bug: str | None = None, *, patched: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """(HF's output, the twin's output), both in float64; ``patched`` keeps HF's float32 internals in float64."""
    model = copy.deepcopy(case.torch_model).double()  # the case's model is shared: never cast it in place
    twin = weights.build(lambda: case.make_twin(bug=bug))
    x = case.x.astype(np.float64) if np.issubdtype(case.x.dtype, np.floating) else case.x
    with torch.no_grad(), (case.float64() if patched else contextlib.nullcontext()):
        y = model(torch.from_numpy(x), **_arrays(case.torch_kwargs, torch.from_numpy))
    y = getattr(y, case.output) if case.output else y
    with jax.enable_x64(True):
        weights.copy_into(model, twin, case.copy, case.conv1d)
        twin = weights.cast(twin, jnp.float64)
        jax_x = case.jax_x if case.jax_x is not None else x
        # one compiled program: op-by-op dispatch would compile each of a few hundred ops on its own (~3x the CPU)
        forward = nnx.jit(lambda model, x, kwargs: model(x, **kwargs))
        ny = np.asarray(forward(twin, jnp.asarray(jax_x), _arrays(case.nnx_kwargs, jnp.asarray)))
    assert ny.dtype == np.float64, f"{case.name}: the twin computed in {ny.dtype}"
    return y.numpy(), ny


def error(case: Case, bug: str | None = None, *, patched: bool = True) -> float:
    """Normwise relative error of the twin's float64 output against HF's."""
    return weights.relative(*outputs(case, bug, patched=patched))

