"""torch.optim.Adafactor (torch's own variant, not optax.adafactor's) as an Optax transformation."""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax

from .transforms import ScalarOrSchedule, like, torch_step, value_at


class TorchAdafactorState(NamedTuple):
    """State of :func:`torch_adafactor`: factored moments for >= 2-D leaves, a full one for the rest."""

    count: jax.Array
    row_var: optax.Updates  # shape (..., R, 1) for >= 2-D leaves, empty (0,) otherwise
    col_var: optax.Updates  # shape (..., 1, C) for >= 2-D leaves, empty (0,) otherwise
    variance: optax.Updates  # the leaf's shape for 0-D and 1-D leaves, empty (0,) otherwise


def _lerp(start, end, weight):
    """torch.lerp's two-sided formula (exact at weight 1, which Adafactor's first step uses)."""
    diff = end - start
    w = like(weight, start)
    return jnp.where(w < 0.5, start + w * diff, end - diff * (1 - w))


def _norm(x, axis=None, keepdims=False):
    return jnp.sqrt(jnp.sum(x * x, axis=axis, keepdims=keepdims))


def torch_adafactor(
    lr: ScalarOrSchedule, beta2_decay: float, eps1: float | None, eps2: float, d: float, weight_decay: float
) -> optax.GradientTransformation:
    """``torch.optim.Adafactor``: the whole update (it needs ``params``), chained after ``maximize``.

    Per leaf, at 1-based step t: ``beta = t ** beta2_decay``,
    ``rho = min(lr, 1 / sqrt(t))``, ``alpha = max(eps2, rms(p)) * rho`` (from
    the parameter *before* weight decay); then ``p *= 1 - lr * weight_decay``;
    the second moment is lerped towards the row/column means of ``g**2``
    (factored, ``row_var @ col_var / mean(row_var)``) or towards ``g**2``
    (vectors); ``u = g / sqrt(max(v, eps1**2))`` is clipped to RMS ``d`` and
    ``p -= alpha * u``. ``optax.adafactor`` differs in its decay schedule,
    relative step size, clipping and moment layout. ``eps1=None`` is the
    parameter dtype's machine epsilon, as in torch.
    """

    def init_fn(params):
        def factored(p, axis):
            if p.ndim <= 1:
                return jnp.zeros((0,), p.dtype)
            shape = list(p.shape)
            shape[axis] = 1
            return jnp.zeros(shape, p.dtype)

        return TorchAdafactorState(
            jnp.zeros([], jnp.int32),
            jax.tree.map(lambda p: factored(p, -1), params),
            jax.tree.map(lambda p: factored(p, -2), params),
            jax.tree.map(lambda p: jnp.zeros(p.shape if p.ndim <= 1 else (0,), p.dtype), params),
        )

    def update_fn(updates, state, params=None):
        if params is None:
            raise ValueError("torch_adafactor needs params: call update(grads, state, params).")
        t = torch_step(state.count)
        lr_now = value_at(lr, state.count)
        beta = t**beta2_decay
        rho = jnp.minimum(lr_now, 1.0 / t**0.5)
        leaves, tree = jax.tree.flatten(params)
        grads = jax.tree.leaves(updates)
        rows, cols, fulls = (jax.tree.leaves(x) for x in (state.row_var, state.col_var, state.variance))
        out, new_rows, new_cols, new_fulls = [], [], [], []
        for p, g, row, col, full in zip(leaves, grads, rows, cols, fulls, strict=True):
            e1 = jnp.finfo(p.dtype).eps if eps1 is None else eps1
            alpha = jnp.maximum(eps2, _norm(p) / p.size**0.5) * rho
            if p.ndim > 1:
                row = _lerp(row, _norm(g, -1, True) ** 2 / g.shape[-1], beta)
                col = _lerp(col, _norm(g, -2, True) ** 2 / g.shape[-2], beta)
                estimate = (row @ col) / jnp.maximum(jnp.mean(row, axis=-2, keepdims=True), like(e1, p))
            else:
                full = _lerp(full, g * g, beta)
                estimate = full
            u = jax.lax.rsqrt(jnp.maximum(estimate, like(e1 * e1, p))) * g
            denom = jnp.maximum(1.0, _norm(u) / (u.size**0.5 * d))
            decayed = p * like(1.0 - lr_now * weight_decay, p) if weight_decay != 0 else p
            new_p = decayed + u * like(-alpha / denom, p)
            out.append(new_p - p)
            new_rows.append(row)
            new_cols.append(col)
            new_fulls.append(full)
        unflat = tree.unflatten
        new_state = TorchAdafactorState(
            optax.safe_increment(state.count), unflat(new_rows), unflat(new_cols), unflat(new_fulls)
        )
        return unflat(out), new_state

    return optax.GradientTransformation(init_fn, update_fn)
