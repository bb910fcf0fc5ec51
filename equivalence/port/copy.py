"""Copy a torch model's parameters and buffers into its NNX twin (and back), leaf by leaf through the rules."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import torch
import torch.nn as nn
from flax import nnx

from .errors import PortError
from .match import Pair, pairs

SKIPPED_BUFFERS = ("num_batches_tracked",)  # a counter, not arithmetic (momentum=None is refused by lint)


def torch_arrays(module: nn.Module) -> dict[str, np.ndarray]:
    """A leaf's parameters and buffers by local name, as NumPy."""
    out = {k: v.detach().cpu().numpy().copy() for k, v in module.named_parameters()}
    out.update({k: v.detach().cpu().numpy().copy() for k, v in module.named_buffers()
                if v is not None and k.split(".")[-1] not in SKIPPED_BUFFERS})
    return out


def nnx_variables(module: nnx.Module) -> dict[str, nnx.Variable]:
    """A leaf's parameters and batch statistics by dotted attribute path."""
    return {".".join(str(p) for p in path): v for path, v in nnx.iter_graph(module)
            if isinstance(v, (nnx.Param, nnx.BatchStat))}


def _convert(pair: Pair, fn, arrays: dict, direction: str) -> dict:
    try:
        return fn(pair.torch_module, arrays)
    except (KeyError, ValueError, IndexError) as err:
        raise PortError(f"{pair.torch_name or '(root)'} <-> {pair.nnx_path or '(root)'}: rule {pair.rule.name} "
                        f"cannot convert {direction} ({type(err).__name__}: {err}); check the layer's options "
                        "(bias, affine, shapes) on both sides.") from None


def _fit(pair: Pair, want: dict, have: dict, side: str) -> None:
    """Every target tensor gets exactly one value of its own shape."""
    for key in sorted(set(have) - set(want)):
        raise PortError(f"{pair.torch_name or '(root)'} <-> {pair.nnx_path or '(root)'}: the {side} side has "
                        f"{key!r} that the other side does not fill; make bias/affine/scale options agree.")
    for key in sorted(set(want) - set(have)):
        raise PortError(f"{pair.torch_name or '(root)'} <-> {pair.nnx_path or '(root)'}: rule {pair.rule.name} "
                        f"fills {key!r}, which the {side} layer lacks; make bias/affine/scale options agree.")
    for key, a in want.items():
        if tuple(np.shape(a)) != tuple(have[key].shape):
            raise PortError(f"{pair.torch_name or '(root)'} <-> {pair.nnx_path or '(root)'}: {key} has shape "
                            f"{tuple(have[key].shape)} on the {side} side but {tuple(np.shape(a))} is needed; "
                            "make the layer sizes agree.")


def planned(torch_module, nnx_module, names=None) -> list[tuple[Pair, dict]]:
    """Each pair with its NNX arrays, all validated before anything is written."""
    plan = []
    for pair in pairs(torch_module, nnx_module, names):
        want = _convert(pair, pair.rule.to_nnx, torch_arrays(pair.torch_module), "torch -> NNX")
        _fit(pair, want, nnx_variables(pair.nnx_module), "NNX")
        plan.append((pair, want))
    return plan


def copy_weights(torch_module: nn.Module, nnx_module: nnx.Module, names: dict[str, str] | None = None):
    """Copy parameters and buffers torch -> NNX in place (each variable keeps its dtype).

    Returns ``[(torch name, NNX path, rule name), ...]``; raises PortError (one line) for a leaf
    without partner, rule or fitting shape, before writing anything.
    """
    plan = planned(torch_module, nnx_module, names)
    for pair, want in plan:
        have = nnx_variables(pair.nnx_module)
        for key, a in want.items():
            have[key][...] = jnp.asarray(a, dtype=have[key][...].dtype)
    return [(p.torch_name, p.nnx_path, p.rule.name) for p, _ in plan]


def copy_weights_to_torch(torch_module: nn.Module, nnx_module: nnx.Module, names: dict[str, str] | None = None):
    """Copy parameters and batch statistics NNX -> torch in place: the inverse of :func:`copy_weights`."""
    plan = []
    for pair in pairs(torch_module, nnx_module, names):
        arrays = {k: np.asarray(v[...]) for k, v in nnx_variables(pair.nnx_module).items()}
        want = _convert(pair, pair.rule.to_torch, arrays, "NNX -> torch")
        have = dict(pair.torch_module.named_parameters())
        have.update({k: b for k, b in pair.torch_module.named_buffers()
                     if k.split(".")[-1] not in SKIPPED_BUFFERS})
        _fit(pair, want, have, "torch")
        plan.append((pair, want, have))
    with torch.no_grad():
        for _, want, have in plan:
            for key, a in want.items():
                have[key].copy_(torch.from_numpy(np.array(a)).to(have[key].dtype))
    return [(p.torch_name, p.nnx_path, p.rule.name) for p, _, _ in plan]
