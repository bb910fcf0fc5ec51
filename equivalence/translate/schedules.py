"""PyTorch LR schedulers as Optax schedules (0-based optimizer step -> learning rate)."""

from __future__ import annotations

import math
from bisect import bisect_right
from typing import Callable, NamedTuple

import jax.numpy as jnp
import numpy as np
import torch.optim.lr_scheduler as sched

from . import cyclic
from .chained import chained
from .errors import UnsupportedError

Schedule = Callable  # count (int32 array) -> scalar array


class GroupSchedules(NamedTuple):
    """What a scheduler does to one param group.

    ``momentum`` is set only for OneCycleLR with ``cycle_momentum``, which
    also rewrites SGD/RMSprop's ``momentum`` or the Adam family's ``beta1``.
    """

    lr: Schedule
    momentum: Schedule | None


_SUPPORTED = (
    "StepLR, MultiStepLR, ExponentialLR, CosineAnnealingLR, LinearLR, ConstantLR, OneCycleLR, SequentialLR, "
    "PolynomialLR, CosineAnnealingWarmRestarts, CyclicLR, ChainedScheduler (of multiplicative ones)"
)
_MAX_TABLE = 1_000_000  # longest recursion replayed exactly (8 MB of float64)
_COSINE_REPLAY = 100_000  # CosineAnnealingLR steps replayed exactly (0.8 MB, ~50 ms of Python)


def _real(k):
    return k.astype(jnp.result_type(float))


def _lookup(table: list[float], index: Callable) -> Schedule:
    """Schedule returning ``table[index(k)]``: torch's recursion, precomputed in Python floats."""
    values = np.asarray(table, dtype=np.float64)
    return lambda k: jnp.asarray(values)[index(k)]


# Each segment maps a *local* epoch k (the scheduler's own last_epoch) and the
# learning rate lr0 it starts from to torch's learning rate. Torch steps these
# schedulers recursively (``group["lr"] * factor``), not by its closed forms.
# Where the recursion is finite (MultiStepLR, LinearLR, ConstantLR) it is
# replayed in Python floats, bit for bit; so is CosineAnnealingLR's for its first 100,000 steps, whose rounding a
# closed form does not follow; where it is unbounded and tame (StepLR, ExponentialLR) a closed form equal to the
# products up to rounding (a few ulp per step) is used. Where torch's recursion and torch's own closed form
# disagree, the recursion wins: ConstantLR/LinearLR with total_iters=0, CosineAnnealingLR started from an lr other
# than base_lr.


def _step_lr(s, i, lr0):
    if s.step_size < 1:
        raise UnsupportedError(f"StepLR(step_size={s.step_size}): torch needs step_size >= 1.")
    return lambda k: lr0 * s.gamma ** _real(k // s.step_size)


def _multi_step_lr(s, i, lr0):
    # Finitely many multiplications, so replay them exactly as torch does:
    # lr *= gamma ** multiplicity at each milestone >= 1 (milestone 0 is
    # already folded into lr0 by the constructor or the closed form).
    milestones = sorted(m for m in s.milestones if m >= 1)
    table = [lr0]
    for m in milestones:
        table.append(table[-1] * s.gamma ** s.milestones[m])

    def passed(k):
        return sum(((k >= m).astype(jnp.int32) for m in milestones), jnp.zeros((), jnp.int32))

    return _lookup(table, passed)


def _exponential_lr(s, i, lr0):
    return lambda k: lr0 * s.gamma ** _real(k)


def _constant_lr(s, i, lr0):
    total, factor = s.total_iters, s.factor
    if total < 1:
        # Torch's recursion only undoes the factor when last_epoch == total_iters,
        # which a stepped scheduler never reaches: the factor stays for good
        # (its closed form would say otherwise).
        return lambda k: jnp.full((), lr0, jnp.result_type(float))
    if factor == 0:
        raise UnsupportedError(
            f"ConstantLR(factor=0, total_iters={total}): torch raises ZeroDivisionError "
            "at step total_iters (it multiplies by 1/factor); use factor > 0."
        )
    return lambda k: jnp.where(k >= total, lr0 * (1.0 / factor), lr0)


def _linear_lr(s, i, lr0):
    total, start, end = s.total_iters, s.start_factor, s.end_factor
    if total < 1:
        return lambda k: jnp.full((), lr0, jnp.result_type(float))
    if total > _MAX_TABLE:
        # prod_{e=1..k} (1 + (end-start) / (T*start + (e-1)*(end-start)))
        #   = (T*start + k*(end-start)) / (T*start): equal up to rounding.
        return lambda k: (
            lr0 * (total * start + _real(jnp.minimum(k, total)) * (end - start)) / (total * start)
        )
    # Replay torch's recursion bit for bit (it matters: with end_factor=0 the
    # products end at -6.5e-17, not 0), frozen after total_iters.
    table = [lr0]
    for epoch in range(1, total + 1):
        table.append(table[-1] * (1.0 + (end - start) / (total * start + (epoch - 1) * (end - start))))
    return _lookup(table, lambda k: jnp.clip(k, 0, total))


def _cosine_lr(s, i, lr0):
    t_max, eta, base = s.T_max, s.eta_min, float(s.base_lrs[i])
    if t_max < 1:
        raise UnsupportedError(f"CosineAnnealingLR(T_max={t_max}): torch divides by T_max; use T_max >= 1.")
    # Torch's ratio recursion divides by 1 + cos(pi (k-1) / T_max), which is near 0 at each trough, so
    # its rounding is amplified there: past T_max, with eta_min above the lr, it strays from the closed
    # form by up to 3e-9 (T_max=1000). Replay it bit for bit for the first _COSINE_REPLAY steps.
    # Each cosine once: torch's cos(pi * (epoch - 1) / T_max) is the one the previous epoch computed.
    cosines = [math.cos(math.pi * epoch / t_max) for epoch in range(_COSINE_REPLAY)]
    restart = (base - eta) * (1 - math.cos(math.pi / t_max)) / 2
    table = [lr0]
    for epoch in range(1, _COSINE_REPLAY):
        lr = table[-1]
        if (epoch - 1 - t_max) % (2 * t_max) == 0:  # torch's restart from eta_min
            table.append(lr + restart)
        else:
            table.append((1 + cosines[epoch]) / (1 + cosines[epoch - 1]) * (lr - eta) + eta)
    replayed = _lookup(table, lambda k: jnp.clip(k, 0, _COSINE_REPLAY - 1))

    # Beyond the table, the closed form: from base_lr, as torch's restarts leave it.
    def lr(k):
        cos = (1.0 + jnp.cos(math.pi * _real(k) / t_max)) / 2.0
        return jnp.where(k < _COSINE_REPLAY, replayed(k), eta + (base - eta) * cos)

    return lr


def _anneal(kind):
    if kind == "cos":
        return lambda start, end, pct: end + (start - end) / 2.0 * (jnp.cos(math.pi * pct) + 1)
    if kind == "linear":
        return lambda start, end, pct: (end - start) * pct + start
    raise UnsupportedError(f"OneCycleLR anneal_strategy={kind!r} is unknown; use 'cos' or 'linear'.")


def _one_cycle_values(s, group, start_key, end_key):
    """OneCycleLR.get_lr, phase by phase; NaN after total_steps where torch raises."""
    if not hasattr(s, "_anneal_func_type"):
        raise UnsupportedError("OneCycleLR without _anneal_func_type (custom anneal_func) cannot be read.")
    anneal = _anneal(s._anneal_func_type)
    phases = s._schedule_phases

    def value(k):
        kf = _real(k)
        conds, vals, start = [], [], 0.0
        for n, phase in enumerate(phases):
            end = phase["end_step"]
            pct = (kf - start) / (end - start)
            vals.append(anneal(float(group[phase[start_key]]), float(group[phase[end_key]]), pct))
            conds.append(kf <= end if n < len(phases) - 1 else jnp.ones((), bool))
            start = end
        return jnp.where(k > s.total_steps, jnp.nan, jnp.select(conds, vals))

    return value


def _one_cycle_lr(s, i, lr0):
    return _one_cycle_values(s, s.optimizer.param_groups[i], "start_lr", "end_lr")


_SEGMENTS = {
    sched.StepLR: _step_lr,
    sched.MultiStepLR: _multi_step_lr,
    sched.ExponentialLR: _exponential_lr,
    sched.ConstantLR: _constant_lr,
    sched.LinearLR: _linear_lr,
    sched.CosineAnnealingLR: _cosine_lr,
    sched.OneCycleLR: _one_cycle_lr,
    **cyclic.SEGMENTS,
}


def _closed_form_at_zero(s, i):
    """The lr torch sets when SequentialLR switches to ``s`` (``_update_lr(0)``)."""
    base = float(s.base_lrs[i])
    if type(s) is sched.MultiStepLR:
        return base * s.gamma ** bisect_right(sorted(s.milestones.elements()), 0)
    if type(s) is sched.ConstantLR:
        return base * (s.factor + (0 >= s.total_iters) * (1 - s.factor))
    if type(s) is sched.LinearLR:
        if s.total_iters == 0:
            raise UnsupportedError(
                "LinearLR(total_iters=0) after a SequentialLR milestone: torch's closed form "
                "divides by total_iters and raises ZeroDivisionError; use total_iters >= 1."
            )
        return base * (
            s.start_factor + (s.end_factor - s.start_factor) * min(s.total_iters, 0) / s.total_iters
        )
    if type(s) is sched.CosineAnnealingLR:
        return s.eta_min + (base - s.eta_min) * (1 + math.cos(math.pi * 0 / s.T_max)) / 2
    return base * 1.0  # StepLR, ExponentialLR (gamma**0); OneCycleLR ignores lr0


def _check_known(s, where):
    if type(s) in _SEGMENTS or type(s) in (sched.SequentialLR, sched.ChainedScheduler):
        return
    name = type(s).__name__
    if isinstance(s, (sched.LambdaLR, sched.MultiplicativeLR)):
        raise UnsupportedError(
            f"{name}{where} calls an arbitrary Python function (lr_lambda) that cannot be "
            f"translated exactly; use one of {_SUPPORTED}, or write the optax schedule by hand."
        )
    raise UnsupportedError(
        f"{name}{where} is not a supported scheduler (supported: {_SUPPORTED}; subclasses are "
        "refused because they may override get_lr); write the optax schedule by hand."
    )


def _sequential(s, i, lr_now):
    milestones = list(s._milestones)
    if any(m < 0 for m in milestones) or milestones != sorted(milestones):
        raise UnsupportedError(
            f"SequentialLR milestones={milestones}: use non-negative, non-decreasing milestones."
        )
    first = bisect_right(milestones, 0)
    segments, starts = [], []
    for j, sub in enumerate(s._schedulers):
        _check_known(sub, f" inside SequentialLR (schedulers[{j}])")
        if type(sub) is sched.SequentialLR:
            raise UnsupportedError(
                "SequentialLR nested in SequentialLR: torch cannot step it past a milestone."
            )
        if type(sub) in (sched.OneCycleLR, sched.CyclicLR) and sub.cycle_momentum:
            raise UnsupportedError(
                f"{type(sub).__name__}(cycle_momentum=True) inside SequentialLR: momentum outside its segment "
                "is not modelled; construct it with cycle_momentum=False."
            )
        expected = 0 if j == first else -1
        if sub.last_epoch != expected:
            raise UnsupportedError(
                f"SequentialLR schedulers[{j}] has last_epoch={sub.last_epoch} (expected {expected}); "
                "translate a freshly constructed SequentialLR."
            )
        lr0 = lr_now if j == first else _closed_form_at_zero(sub, i)
        segments.append(_SEGMENTS[type(sub)](sub, i, lr0))
        starts.append(0 if j <= first else milestones[j - 1])

    def lr(k):
        index = jnp.zeros((), jnp.int32)
        for m in milestones:  # bisect_right(milestones, k)
            index = index + (k >= m).astype(jnp.int32)
        vals = [seg(k - start) for seg, start in zip(segments, starts, strict=True)]
        return jnp.select([index == j for j in range(len(vals))], vals)

    return lr


def group_schedules(scheduler, optimizer) -> list[GroupSchedules]:
    """One :class:`GroupSchedules` per param group of ``optimizer``.

    Step counting: the value at count ``n`` is the lr torch uses in its
    ``n``-th ``optimizer.step()`` (0-based) when ``scheduler.step()`` is
    called once after every ``optimizer.step()``. The scheduler must be
    freshly constructed (``last_epoch == 0``).
    """
    _check_known(scheduler, "")
    if scheduler.optimizer is not optimizer:
        raise UnsupportedError(f"{type(scheduler).__name__} belongs to another optimizer.")
    # CosineAnnealingWarmRestarts overrides step() and never counts _step_count.
    fresh = getattr(scheduler, "last_epoch", 0) == 0  # ChainedScheduler has none; chained.py checks its parts
    if not fresh or getattr(scheduler, "_step_count", 1) not in (0, 1):
        raise UnsupportedError(
            f"{type(scheduler).__name__} has already been stepped (last_epoch={getattr(scheduler, 'last_epoch', None)}); "
            "translate a freshly constructed scheduler."
        )
    out = []
    for i, group in enumerate(optimizer.param_groups):
        lr_now = float(group["lr"])
        if type(scheduler) is sched.ChainedScheduler:
            out.append(GroupSchedules(chained(scheduler, i, lr_now, _SEGMENTS), None))
            continue
        if type(scheduler) is sched.SequentialLR:
            out.append(GroupSchedules(_sequential(scheduler, i, lr_now), None))
            continue
        lr = _SEGMENTS[type(scheduler)](scheduler, i, lr_now)
        momentum = None
        if type(scheduler) is sched.OneCycleLR and scheduler.cycle_momentum:
            momentum = _one_cycle_values(scheduler, group, "start_momentum", "end_momentum")
        if type(scheduler) is sched.CyclicLR and scheduler.cycle_momentum:
            momentum = cyclic.cyclic_momentum(scheduler, i)
        out.append(GroupSchedules(lr, momentum))
    return out
