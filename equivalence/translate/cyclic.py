"""PolynomialLR, CosineAnnealingWarmRestarts and CyclicLR as Optax schedules (local epoch -> lr)."""

from __future__ import annotations

import math

import jax.numpy as jnp
import numpy as np
import torch.optim.lr_scheduler as sched

from .errors import UnsupportedError

_REPLAY = 100_000  # PolynomialLR steps replayed exactly in Python floats


def _real(k):
    return k.astype(jnp.result_type(float))


def polynomial_lr(s, i, lr0):
    """Torch's recursion ``lr *= ((1 - k/T) / (1 - (k-1)/T)) ** power`` up to T, then constant.

    Replayed bit for bit (to 0 exactly at T) for the first 100,000 steps;
    beyond, the closed form, equal up to rounding.
    """
    total, power = s.total_iters, s.power
    if total < 1:
        return lambda k: jnp.full((), lr0, jnp.result_type(float))
    table = [lr0]
    for epoch in range(1, min(total, _REPLAY) + 1):
        table.append(table[-1] * ((1.0 - epoch / total) / (1.0 - (epoch - 1) / total)) ** power)
    values = np.asarray(table, np.float64)
    last = len(table) - 1

    def lr(k):
        # XLA may divide by T as a multiply by 1/T, leaving 1 - k/T at -1e-16 (NaN under ** power).
        tail = lr0 * jnp.maximum(1.0 - _real(jnp.minimum(k, total)) / total, 0.0) ** power
        return jnp.where(k <= last, jnp.asarray(values)[jnp.clip(k, 0, last)], tail)

    return lr


def cosine_warm_restarts(s, i, lr0):
    """``eta_min + (base_lr - eta_min) (1 + cos(pi T_cur / T_i)) / 2`` with torch's integer T_cur, T_i.

    Cycle n starts at ``T_0 (T_mult**n - 1) / (T_mult - 1)`` (``n T_0`` when
    ``T_mult == 1``) and lasts ``T_0 T_mult**n`` steps; torch counts T_cur
    the same way, one step at a time.
    """
    t0, mult, eta, base = s.T_0, s.T_mult, float(s.eta_min), float(s.base_lrs[i])
    if mult == 1:
        def position(k):
            return k % t0, jnp.full((), t0, k.dtype)
    else:
        starts, lengths = [0], [t0]
        while starts[-1] + lengths[-1] < 2**31:
            starts.append(starts[-1] + lengths[-1])
            lengths.append(lengths[-1] * mult)
        starts_a = np.asarray(starts, np.int64)
        lengths_a = np.asarray(lengths, np.int64)

        def position(k):
            n = jnp.sum(k >= jnp.asarray(starts_a[1:])) if len(starts) > 1 else 0
            return k - jnp.asarray(starts_a)[n], jnp.asarray(lengths_a)[n]

    def lr(k):
        t_cur, t_i = position(k)
        return eta + (base - eta) * (1.0 + jnp.cos(math.pi * _real(t_cur) / _real(t_i))) / 2.0

    return lr


def _cyclic_position(s):
    """(cycle, scale_factor, scale_fn argument) of CyclicLR.get_lr at local epoch k."""
    if getattr(s, "_scale_fn_custom", None) is not None:
        raise UnsupportedError(
            "CyclicLR(scale_fn=...) calls an arbitrary Python function that cannot be translated exactly; "
            "use mode='triangular', 'triangular2' or 'exp_range'."
        )
    total, ratio, mode, gamma = s.total_size, s.step_ratio, s.mode, s.gamma

    def at(k):
        kf = _real(k)
        cycle = jnp.floor(1.0 + kf / total)
        x = 1.0 + kf / total - cycle
        scale = jnp.where(x <= ratio, x / ratio, (x - 1.0) / (ratio - 1.0))
        if mode == "triangular":
            fn = jnp.ones_like(kf)
        elif mode == "triangular2":
            fn = 1.0 / 2.0 ** (cycle - 1.0)
        else:  # exp_range scales by iterations
            fn = gamma**kf
        return scale, fn

    return at


def cyclic_lr(s, i, lr0):
    """CyclicLR's closed form (torch computes it from base_lr and max_lr each step, not recursively)."""
    at = _cyclic_position(s)
    base, top = float(s.base_lrs[i]), float(s.max_lrs[i])

    def lr(k):
        scale, fn = at(k)
        return base + (top - base) * scale * fn

    return lr


def cyclic_momentum(s, i):
    """CyclicLR's momentum (SGD/RMSprop ``momentum`` or the Adam family's beta1), moving against the lr."""
    at = _cyclic_position(s)
    low, high = float(s.base_momentums[i]), float(s.max_momentums[i])

    def momentum(k):
        scale, fn = at(k)
        return high - (high - low) * scale * fn

    return momentum


SEGMENTS = {
    sched.PolynomialLR: polynomial_lr,
    sched.CosineAnnealingWarmRestarts: cosine_warm_restarts,
    sched.CyclicLR: cyclic_lr,
}
