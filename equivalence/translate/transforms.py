"""Hand-written Optax transformations for SGD/RMSprop momentum, Adagrad and clip_grad_norm_."""

from __future__ import annotations

from typing import Callable, NamedTuple, Union

import jax
import jax.numpy as jnp
import optax

# A hyper-parameter is either a Python float or a function of the 0-based
# optimizer step (what OneCycleLR does to SGD's momentum and Adam's beta1).
ScalarOrSchedule = Union[float, Callable[[jax.Array], jax.Array]]


def value_at(hyper: ScalarOrSchedule, count: jax.Array):
    """The hyper-parameter's value at the 0-based optimizer step ``count``."""
    return hyper(count) if callable(hyper) else hyper


def torch_step(count: jax.Array) -> jax.Array:
    """PyTorch's ``state["step"]`` after its increment: 1-based, as a float.

    Torch computes ``beta ** step`` in Python double precision; the default
    float dtype (float64 under ``jax.enable_x64``) is the closest JAX analogue.
    """
    return (count + 1).astype(jnp.result_type(float))


def like(scalar, leaf: jax.Array) -> jax.Array:
    """Cast a scalar to ``leaf``'s dtype, as torch does when it scales a tensor.

    Without the cast a float64 scalar would silently promote float32 state.
    """
    return jnp.asarray(scalar, dtype=leaf.dtype)


class TorchMomentumState(NamedTuple):
    """State of :func:`torch_momentum`."""

    count: jax.Array  # 0-based step, needed to evaluate a scheduled momentum
    started: jax.Array  # bool: torch's ``momentum_buffer is not None``
    buf: optax.Updates


def torch_momentum(
    momentum: ScalarOrSchedule,
    dampening: float = 0.0,
    nesterov: bool = False,
    *,
    positive_only: bool = False,
) -> optax.GradientTransformation:
    """The momentum buffer of ``torch.optim.SGD`` (and of ``RMSprop``).

    ``optax.trace`` matches torch only without dampening and with a constant
    momentum. Torch differs in two places this transformation reproduces:

    * the first step that uses momentum *copies* the gradient into the buffer,
      so dampening is skipped exactly once (``optax.trace`` has no dampening);
    * a scheduled momentum (OneCycleLR's ``cycle_momentum``) may be zero on a
      step, and torch then applies the plain gradient and leaves the buffer
      untouched. SGD tests ``momentum != 0``; RMSprop tests ``momentum > 0``
      (``positive_only=True``).

    The learning rate is applied afterwards, outside the buffer, as in torch.
    """

    def init_fn(params):
        return TorchMomentumState(
            count=jnp.zeros([], jnp.int32),
            started=jnp.zeros([], jnp.bool_),
            buf=optax.tree.zeros_like(params),
        )

    def update_fn(updates, state, params=None):
        del params
        m = value_at(momentum, state.count)
        active = (m > 0) if positive_only else (m != 0)

        def new_buf(g, b):
            damped = like(m, g) * b + like(1.0 - dampening, g) * g
            return jnp.where(state.started, damped, g)

        bufs = jax.tree.map(new_buf, updates, state.buf)
        if nesterov:
            steps = jax.tree.map(lambda g, b: g + like(m, g) * b, updates, bufs)
        else:
            steps = bufs
        out = jax.tree.map(lambda s, g: jnp.where(active, s, g), steps, updates)
        kept = jax.tree.map(lambda b, old: jnp.where(active, b, old), bufs, state.buf)
        return out, TorchMomentumState(
            count=optax.safe_increment(state.count),
            started=state.started | active,
            buf=kept,
        )

    return optax.GradientTransformation(init_fn, update_fn)


class TorchAdagradState(NamedTuple):
    """State of :func:`torch_adagrad`."""

    count: jax.Array
    sum_of_squares: optax.Updates


def torch_adagrad(
    initial_accumulator_value: float = 0.0,
    eps: float = 1e-10,
    lr_decay: float = 0.0,
) -> optax.GradientTransformation:
    """``torch.optim.Adagrad``'s scaling, before the learning rate.

    ``optax.scale_by_rss`` differs in three ways: its accumulator starts at
    0.1 (torch: 0), it adds eps *inside* the square root (torch:
    ``g / (sqrt(sum) + eps)``), and it has no ``lr_decay``, which torch
    applies as ``lr / (1 + (step - 1) * lr_decay)``.
    """

    def init_fn(params):
        return TorchAdagradState(
            count=jnp.zeros([], jnp.int32),
            sum_of_squares=optax.tree.full_like(params, initial_accumulator_value),
        )

    def update_fn(updates, state, params=None):
        del params
        sums = jax.tree.map(lambda g, s: s + g * g, updates, state.sum_of_squares)
        decay = 1.0 + (torch_step(state.count) - 1.0) * lr_decay

        def scale(g, s):
            return g / (jnp.sqrt(s) + like(eps, g)) / like(decay, g)

        out = jax.tree.map(scale, updates, sums)
        return out, TorchAdagradState(optax.safe_increment(state.count), sums)

    return optax.GradientTransformation(init_fn, update_fn)


def clip_grad_norm(max_norm: float, norm_type: float | str = 2.0) -> optax.GradientTransformation:
    """``torch.nn.utils.clip_grad_norm_`` as a transformation; chain it first.

    ``optax.clip_by_global_norm`` rescales by ``max_norm / norm`` only when
    ``norm >= max_norm``. Torch always multiplies by
    ``min(max_norm / (total_norm + 1e-6), 1)``: the 1e-6 shrinks gradients
    slightly even when they are exactly at the threshold, and ``norm_type``
    may be any p (``inf`` included). The total norm is the p-norm of the
    per-tensor p-norms, computed in the same two stages as torch.
    ``error_if_nonfinite`` has no counterpart: a transformation cannot raise.
    """
    p = float(norm_type)  # torch accepts 'inf' and converts it the same way
    max_norm = float(max_norm)

    def update_fn(updates, state, params=None):
        del params
        leaves = jax.tree.leaves(updates)
        if not leaves:
            return updates, state
        norms = jnp.stack([jnp.linalg.vector_norm(jnp.ravel(g), ord=p) for g in leaves])
        total = jnp.linalg.vector_norm(norms, ord=p)
        coef = jnp.minimum(max_norm / (total + 1e-6), 1.0)
        return jax.tree.map(lambda g: g * like(coef, g), updates), state

    return optax.GradientTransformation(optax.init_empty_state, update_fn)
