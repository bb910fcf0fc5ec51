"""torch.optim.Rprop as an Optax transformation (it applies its own step sizes; no learning rate)."""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax

from .transforms import like


class TorchRpropState(NamedTuple):
    """State of :func:`torch_rprop`: per-entry step sizes and the previous (masked) gradient."""

    step_size: optax.Updates
    prev: optax.Updates


def torch_rprop(
    lr: float, etas: tuple[float, float], step_sizes: tuple[float, float]
) -> optax.GradientTransformation:
    """``torch.optim.Rprop``: the full update ``-sign(g) * step_size``, chained after ``maximize``.

    Each entry's step size starts at ``lr`` and is multiplied by ``etaplus``
    where the gradient kept its sign, by ``etaminus`` where it flipped (and
    that gradient is then treated as zero, also for the next comparison), by
    1 otherwise, then clamped to ``step_sizes``. ``lr`` is read once, at the
    first step, as torch does: a scheduler changing ``group["lr"]`` later has
    no effect on Rprop, so none is applied here either. Optax has no Rprop.
    """
    etaminus, etaplus = (float(e) for e in etas)
    low, high = (float(s) for s in step_sizes)

    def init_fn(params):
        return TorchRpropState(optax.tree.full_like(params, lr), optax.tree.zeros_like(params))

    def update_fn(updates, state, params=None):
        del params

        def one(g, prev, size):
            product = jnp.sign(g * prev)
            factor = jnp.where(product > 0, like(etaplus, g), jnp.where(product < 0, like(etaminus, g), 1))
            new_size = jnp.clip(size * factor, like(low, g), like(high, g))
            kept = jnp.where(factor == like(etaminus, g), jnp.zeros_like(g), g)
            return -jnp.sign(kept) * new_size, kept, new_size

        out = jax.tree.map(one, updates, state.prev, state.step_size)
        is_triple = lambda x: isinstance(x, tuple) and len(x) == 3  # noqa: E731
        step = jax.tree.map(lambda t: t[0], out, is_leaf=is_triple)
        prev = jax.tree.map(lambda t: t[1], out, is_leaf=is_triple)
        size = jax.tree.map(lambda t: t[2], out, is_leaf=is_triple)
        return step, TorchRpropState(size, prev)

    return optax.GradientTransformation(init_fn, update_fn)
