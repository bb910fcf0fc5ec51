"""Torch tensors through the rules into the NNX layout: copy weights (both ways), and name what a loaded twin lacks."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import torch
from flax import nnx
from torch import nn

from .errors import PortError
from .match import Pair, Pairing, pair_models, torch_own_tensors
from .rules import fit_shape

SKIPPED_BUFFERS = ("num_batches_tracked",)  # a counter, not arithmetic (momentum=None is refused by lint)


def torch_arrays(pair: Pair, grad: bool = False) -> dict[str, np.ndarray]:
    """A leaf's own parameters and buffers (or their gradients) by local name, as NumPy copies."""
    out = {}
    for k, v in torch_own_tensors(pair.torch_module, pair.torch_skip).items():
        if k.split(".")[-1] in SKIPPED_BUFFERS:
            continue
        if grad:
            if not isinstance(v, nn.Parameter):
                continue
            v = v.grad if v.grad is not None else torch.zeros_like(v)
        out[k] = v.detach().cpu().numpy().copy()
    return out


def nnx_variables(pair: Pair) -> dict[str, nnx.Variable]:
    """A leaf's own parameters and batch statistics by dotted attribute path."""
    return pair.variables


def key(pair: Pair, name: str) -> str:
    """A variable's dotted path from the NNX root."""
    return f"{pair.nnx_path}.{name}" if pair.nnx_path else name


def convert(pair: Pair, arrays: dict, have: dict | None = None) -> dict[str, np.ndarray]:
    """torch -> NNX through the pair's rule, in the NNX variables' shapes where the rule may regroup axes."""
    try:
        want = pair.rule.to_nnx(pair.torch_module, arrays)
    except (KeyError, ValueError, IndexError, TypeError, AttributeError) as err:
        raise PortError(f"{pair.label} <-> {pair.nnx_path or '(root)'}: rule {pair.rule.name} cannot convert "
                        f"torch -> NNX ({type(err).__name__}: {err}); check the layer's options (bias, affine, "
                        "shapes) on both sides.") from None
    if pair.rule.reshape:
        have = nnx_variables(pair) if have is None else have
        want = {k: (fit_shape(np.asarray(a), tuple(have[k].get_value().shape), lead=False)
                    if k in have and fit_shape(np.asarray(a), tuple(have[k].get_value().shape), lead=False)
                    is not None else a) for k, a in want.items()}
    return want


def in_nnx_layout(pairing: Pairing, kind, grad: bool = False) -> dict[str, tuple[str, np.ndarray]]:
    """NNX key -> (row name 'torch.leaf:variable', array) for the variables of one kind (Param or BatchStat)."""
    out = {}
    for p in pairing:
        have = nnx_variables(p)
        for k, a in convert(p, torch_arrays(p, grad), have).items():
            if isinstance(have.get(k), kind):
                out[key(p, k)] = (f"{p.label}:{k}", a)
    return out


def fit(pair: Pair, want: dict, have: dict, side: str) -> None:
    """Every target tensor gets exactly one value of its own shape."""
    where = f"{pair.label} <-> {pair.nnx_path or '(root)'}"
    for k in sorted(set(have) - set(want)):
        raise PortError(f"{where}: the {side} side has {k!r} that the other side does not fill; make "
                        "bias/affine/scale options agree.")
    for k in sorted(set(want) - set(have)):
        raise PortError(f"{where}: rule {pair.rule.name} fills {k!r}, which the {side} layer lacks; make "
                        "bias/affine/scale options agree.")
    for k, a in want.items():
        shape = tuple(have[k].get_value().shape) if isinstance(have[k], nnx.Variable) else tuple(have[k].shape)
        if tuple(np.shape(a)) != shape:
            raise PortError(f"{where}: {k} has shape {shape} on the {side} side but {tuple(np.shape(a))} is "
                            "needed; make the layer sizes agree.")


def planned(pairing: Pairing) -> list[tuple[Pair, dict]]:
    """Each pair with its NNX arrays, all validated before anything is written."""
    plan = []
    for pair in pairing:
        have = nnx_variables(pair)
        want = convert(pair, torch_arrays(pair), have)
        fit(pair, want, have, "NNX")
        plan.append((pair, want))
    return plan


def write(plan: list[tuple[Pair, dict]]) -> None:
    for pair, want in plan:
        have = nnx_variables(pair)
        for k, a in want.items():
            have[k].set_value(jnp.asarray(np.asarray(a), dtype=have[k].get_value().dtype))


def copy_weights(torch_module: nn.Module, nnx_module: nnx.Module, names: dict[str, str] | None = None):
    """Copy parameters and buffers torch -> NNX in place (each variable keeps its dtype).

    Returns ``[(torch name, NNX path, rule name), ...]``; raises PortError (one line) for a leaf
    without partner, rule or fitting shape, before writing anything.
    """
    plan = planned(pair_models(torch_module, nnx_module, names))
    write(plan)
    return [(p.torch_name, p.nnx_path, p.rule.name) for p, _ in plan]


def copy_weights_to_torch(torch_module: nn.Module, nnx_module: nnx.Module, names: dict[str, str] | None = None):
    """Copy parameters and batch statistics NNX -> torch in place: the inverse of :func:`copy_weights`."""
    plan = []
    for pair in pair_models(torch_module, nnx_module, names):
        arrays = {k: np.asarray(v.get_value()) for k, v in nnx_variables(pair).items()}
        if pair.rule.reshape:  # back to the rule's own shapes before its inverse
            flat = pair.rule.to_nnx(pair.torch_module, torch_arrays(pair))
            arrays = {k: a.reshape(np.shape(flat[k])) if k in flat else a for k, a in arrays.items()}
        try:
            want = pair.rule.to_torch(pair.torch_module, arrays)
        except (KeyError, ValueError, IndexError) as err:
            raise PortError(f"{pair.label} <-> {pair.nnx_path or '(root)'}: rule {pair.rule.name} cannot convert "
                            f"NNX -> torch ({type(err).__name__}: {err}).") from None
        have = {k: v for k, v in torch_own_tensors(pair.torch_module, pair.torch_skip).items()
                if k.split(".")[-1] not in SKIPPED_BUFFERS}
        fit(pair, want, have, "torch")
        plan.append((pair, want, have))
    with torch.no_grad():
        for _, want, have in plan:
            for k, a in want.items():
                have[k].copy_(torch.from_numpy(np.array(a)).to(have[k].dtype))
    return [(p.torch_name, p.nnx_path, p.rule.name) for p, _, _ in plan]
