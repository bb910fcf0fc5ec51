"""torch's ReduceLROnPlateau as an Optax transformation that takes the metric (``value=``)."""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax

from .errors import UnsupportedError
from .transforms import like


class PlateauState(NamedTuple):
    """ReduceLROnPlateau's counters; ``lr`` is the learning rate the next update uses."""

    lr: jax.Array
    best: jax.Array
    num_bad_epochs: jax.Array
    cooldown_counter: jax.Array


def check_plateau(scheduler, optimizer) -> None:
    """Refuse what the plateau transformation cannot follow exactly."""
    if scheduler.optimizer is not optimizer:
        raise UnsupportedError("ReduceLROnPlateau belongs to another optimizer.")
    if scheduler.last_epoch != 0 or scheduler.num_bad_epochs != 0 or not math.isinf(scheduler.best):
        raise UnsupportedError(
            "ReduceLROnPlateau has already been stepped; translate a freshly constructed one."
        )
    lrs = {float(g["lr"]) for g in optimizer.param_groups}
    if len(lrs) != 1 or len(set(scheduler.min_lrs)) != 1:
        raise UnsupportedError(
            "ReduceLROnPlateau over param groups with different lr or min_lr is not translated; "
            "use one group (or identical groups)."
        )


def torch_reduce_on_plateau(scheduler) -> optax.GradientTransformationExtraArgs:
    """Multiply the updates by torch's current lr, then step the plateau logic with ``value``.

    Chain it *after* a translation built with lr 1 (``translate.optimizer``
    does this when given a ReduceLROnPlateau). ``update(..., value=metric)``
    does what ``optimizer.step(); scheduler.step(metric)`` does: this update
    uses the current lr, and ``metric`` decides the lr of the next one:
    "better" is ``a < best * (1 - threshold)`` (min, rel), ``a < best - threshold``
    (min, abs), ``a > best * (1 + threshold)`` (max, rel) or ``a > best + threshold``
    (max, abs); after more than ``patience`` worse values the lr becomes
    ``max(lr * factor, min_lr)`` (only if that lowers it by more than ``eps``),
    followed by ``cooldown`` values that are not counted.
    ``optax.contrib.reduce_on_plateau`` differs: it scales by a factor, has no
    threshold modes and counts cooldown differently.
    """
    mode, threshold_mode = scheduler.mode, scheduler.threshold_mode
    threshold, factor, eps = float(scheduler.threshold), float(scheduler.factor), float(scheduler.eps)
    patience, cooldown, min_lr = int(scheduler.patience), int(scheduler.cooldown), float(scheduler.min_lrs[0])
    lr0 = float(scheduler.optimizer.param_groups[0]["lr"])

    def better(a, best):
        if mode == "min":
            return a < (best * (1.0 - threshold) if threshold_mode == "rel" else best - threshold)
        return a > (best * (threshold + 1.0) if threshold_mode == "rel" else best + threshold)

    def init_fn(params):
        del params
        real = jnp.result_type(float)
        worst = math.inf if mode == "min" else -math.inf
        return PlateauState(jnp.asarray(lr0, real), jnp.asarray(worst, real), jnp.zeros([], jnp.int32),
                            jnp.zeros([], jnp.int32))

    def update_fn(updates, state, params=None, *, value, **extra):
        del params, extra
        out = jax.tree.map(lambda u: u * like(state.lr, u), updates)
        current = jnp.asarray(value, state.best.dtype)
        improved = better(current, state.best)
        best = jnp.where(improved, current, state.best)
        bad = jnp.where(improved, 0, state.num_bad_epochs + 1)
        cooling = state.cooldown_counter > 0
        counter = jnp.where(cooling, state.cooldown_counter - 1, state.cooldown_counter)
        bad = jnp.where(cooling, 0, bad)
        reduce = bad > patience
        new_lr = jnp.maximum(state.lr * factor, min_lr)
        lr = jnp.where(reduce & (state.lr - new_lr > eps), new_lr, state.lr)
        counter = jnp.where(reduce, cooldown, counter)
        bad = jnp.where(reduce, 0, bad)
        return out, PlateauState(lr, best, bad, counter)

    return optax.GradientTransformationExtraArgs(init_fn, update_fn)
