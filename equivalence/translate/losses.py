"""PyTorch loss modules as jax.numpy/optax functions with the same weighting and reductions."""

from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np
import optax
import torch.nn as nn

from .errors import UnsupportedError

LossFn = Callable[[jax.Array, jax.Array], jax.Array]


_REDUCE = {"mean": jnp.mean, "sum": jnp.sum, "none": lambda x: x}


def _reduction(module) -> str:
    """The module's reduction, read once at translation time and validated."""
    reduction = module.reduction
    if reduction not in _REDUCE:
        raise UnsupportedError(
            f"{type(module).__name__}(reduction={reduction!r}): use 'mean', 'sum' or 'none'."
        )
    return reduction


def _array(tensor) -> np.ndarray | None:
    # Kept as numpy and cast to the prediction's dtype at call time, so a
    # translation made outside jax.enable_x64 still computes in float64 later.
    return None if tensor is None else tensor.detach().cpu().numpy()


def _pointwise(module, elementwise) -> LossFn:
    reduce = _REDUCE[_reduction(module)]
    return lambda prediction, target: reduce(elementwise(prediction, target))


def _mse(m):
    # optax.l2_loss is *half* the squared error; squared_error is MSELoss's term.
    return _pointwise(m, optax.losses.squared_error)


def _l1(m):
    return _pointwise(m, lambda p, t: jnp.abs(p - t))


def _huber(m):
    delta = float(m.delta)
    return _pointwise(m, lambda p, t: optax.losses.huber_loss(p, t, delta=delta))


def _smooth_l1(m):
    beta = float(m.beta)
    if beta < 0:
        raise UnsupportedError(f"SmoothL1Loss(beta={beta}): torch requires beta >= 0.")
    if beta == 0:
        # Torch's beta=0 is exactly L1; huber/beta would divide by zero.
        return _pointwise(m, lambda p, t: jnp.abs(p - t))
    # SmoothL1 = Huber(delta=beta) / beta: 0.5 d^2 / beta, or |d| - beta / 2.
    return _pointwise(m, lambda p, t: optax.losses.huber_loss(p, t, delta=beta) / beta)


def _bce_with_logits(m):
    weight, pos_weight = _array(m.weight), _array(m.pos_weight)
    reduce = _REDUCE[_reduction(m)]

    def fn(logits, target):
        # torch: (1 - y) * x - (1 + (pos_weight - 1) * y) * log_sigmoid(x)
        log_weight = (
            1.0 if pos_weight is None else 1.0 + (jnp.asarray(pos_weight, logits.dtype) - 1.0) * target
        )
        per = (1.0 - target) * logits - log_weight * jax.nn.log_sigmoid(logits)
        if weight is not None:
            per = per * jnp.asarray(weight, logits.dtype)
        return reduce(per)

    return fn


def _class_last(x: jax.Array) -> jax.Array:
    # Torch's class axis is 1 for batched input (N, C, d1, ...), 0 for (C,).
    return x if x.ndim == 1 else jnp.moveaxis(x, 1, -1)


def _nll_terms(logp, target, weight, ignore_index):
    """Per-element -w[y] * logp[y] and its weight w[y] (0 where ignored)."""
    valid = target != ignore_index
    safe = jnp.where(valid, target, 0)
    picked = jnp.take_along_axis(logp, safe[..., None], axis=-1)[..., 0]
    w = jnp.ones_like(picked) if weight is None else jnp.asarray(weight, logp.dtype)[safe]
    w = jnp.where(valid, w, 0.0)
    return -picked * w, w, valid


def _reduce_weighted(reduction, per, w):
    # Weighted mean divides by the summed weights of the targets that count
    # (all of them equal 1 without `weight`): nll_loss's total_weight.
    if reduction == "mean":
        return per.sum() / w.sum()
    return _REDUCE[reduction](per)


def _index_loss(reduction, logp, target, weight, ignore_index, smoothing):
    per, w, valid = _nll_terms(logp, target, weight, ignore_index)
    nll = _reduce_weighted(reduction, per, w)
    if smoothing == 0:
        return nll
    # Torch's label smoothing: (1 - s) * nll + s / C * sum_c(-w_c * logp_c),
    # the smoothing term masked at ignored targets and normalised like nll.
    w_c = 1.0 if weight is None else jnp.asarray(weight, logp.dtype)
    smooth = jnp.where(valid, -(logp * w_c).sum(-1), 0.0)
    n_classes = logp.shape[-1]
    return (1.0 - smoothing) * nll + (smoothing / n_classes) * _reduce_weighted(reduction, smooth, w)


def _probability_loss(reduction, logp, target, weight, smoothing):
    n_classes = logp.shape[-1]
    if smoothing > 0:
        target = target * (1.0 - smoothing) + smoothing / n_classes
    w_c = 1.0 if weight is None else jnp.asarray(weight, logp.dtype)
    per = -(logp * target * w_c).sum(-1)
    if reduction == "mean":
        # Probability targets: mean over samples, *not* over summed weights.
        return per.sum() / (logp.size / n_classes)
    return _REDUCE[reduction](per)


def _cross_entropy(m):
    weight, ignore_index, smoothing = _array(m.weight), int(m.ignore_index), float(m.label_smoothing)
    reduction = _reduction(m)

    def fn(logits, target):
        target = jnp.asarray(target)
        logp = jax.nn.log_softmax(_class_last(logits), axis=-1)
        if jnp.issubdtype(target.dtype, jnp.integer):
            return _index_loss(reduction, logp, target, weight, ignore_index, smoothing)
        return _probability_loss(reduction, logp, _class_last(target), weight, smoothing)

    return fn


def _nll(m):
    weight, ignore_index, reduction = _array(m.weight), int(m.ignore_index), _reduction(m)

    def fn(log_probs, target):
        return _index_loss(reduction, _class_last(log_probs), jnp.asarray(target), weight, ignore_index, 0.0)

    return fn


_LOSSES = {
    nn.MSELoss: _mse,
    nn.L1Loss: _l1,
    nn.HuberLoss: _huber,
    nn.SmoothL1Loss: _smooth_l1,
    nn.CrossEntropyLoss: _cross_entropy,
    nn.BCEWithLogitsLoss: _bce_with_logits,
    nn.NLLLoss: _nll,
}


def loss(torch_loss_module: nn.Module) -> LossFn:
    """``fn(prediction, target)`` computing what ``torch_loss_module`` computes.

    Reads ``reduction`` and the module's options (``weight``,
    ``ignore_index``, ``label_smoothing``, ``pos_weight``, ``delta``,
    ``beta``). Layouts follow torch: classes on axis 1 (axis 0 for unbatched
    input); CrossEntropyLoss takes integer class targets or float
    probability targets shaped like the logits. Like any JAX code it cannot
    raise on out-of-range class indices the way torch does.
    """
    cls = type(torch_loss_module)
    if cls not in _LOSSES:
        supported = ", ".join(c.__name__ for c in _LOSSES)
        raise UnsupportedError(
            f"{cls.__name__} is not a supported loss (supported, exact classes only: {supported}); "
            "write it with jax.numpy by hand and check it against torch with compare.run_loss."
        )
    return _LOSSES[cls](torch_loss_module)
