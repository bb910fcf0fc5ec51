"""torch.optim.ASGD as an Optax transformation, with its averaged parameters ``ax`` readable."""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax

from .transforms import ScalarOrSchedule, like, torch_step, value_at


class TorchASGDState(NamedTuple):
    """State of :func:`torch_asgd`; ``ax`` is torch's ``state[p]["ax"]``, the averaged parameters."""

    count: jax.Array
    eta: jax.Array  # the step size of the next step, in torch's scalar dtype
    mu: jax.Array  # the averaging weight of the next step, in torch's scalar dtype
    ax: optax.Params


def torch_asgd(
    lr: ScalarOrSchedule, lambd: float, alpha: float, t0: float, weight_decay: float,
    scalar_dtype: str = "float64",
) -> optax.GradientTransformation:
    """``torch.optim.ASGD``: the whole update (it needs ``params``), chained after ``maximize``.

    Torch steps ``p <- p * (1 - lambd * eta) - eta * (g + weight_decay * p)``,
    then averages ``ax <- ax + mu * (p - ax)`` (a copy while ``mu == 1``), then
    sets ``eta = lr / (1 + lambd * lr * t) ** alpha`` and
    ``mu = 1 / max(1, t - t0)`` for the next step, using the lr of *this*
    step. ``eta`` and ``mu`` are kept in torch's scalar dtype (float32 unless
    torch's default dtype is float64), so they are rounded where torch rounds.
    Optax has no ASGD; read the average with :func:`averaged_params`.
    """

    def scalar(x):
        return jnp.asarray(x, jnp.float32 if scalar_dtype == "float32" else jnp.result_type(float))

    def init_fn(params):
        lr0 = value_at(lr, jnp.zeros([], jnp.int32))
        return TorchASGDState(jnp.zeros([], jnp.int32), scalar(lr0), scalar(1.0), optax.tree.zeros_like(params))

    def update_fn(updates, state, params=None):
        if params is None:
            raise ValueError("torch_asgd needs params: call update(grads, state, params).")
        eta = state.eta.astype(jnp.result_type(float))  # torch's _get_value: a Python float
        copy = state.mu == 1

        def new_param(g, p):
            if weight_decay != 0:
                g = g + like(weight_decay, g) * p
            return p * like(1.0 - lambd * eta, p) - like(eta, p) * g

        new_params = jax.tree.map(new_param, updates, params)
        mu = state.mu.astype(jnp.result_type(float))
        ax = jax.tree.map(
            lambda a, p: jnp.where(copy, p, a + (p - a) * like(mu, p)), state.ax, new_params
        )
        t = torch_step(state.count)
        lr_now = value_at(lr, state.count)
        next_eta = scalar(lr_now / (1.0 + lambd * lr_now * t) ** alpha)
        next_mu = scalar(1.0 / jnp.maximum(1.0, t - t0))
        out = jax.tree.map(lambda new, p: new - p, new_params, params)
        return out, TorchASGDState(optax.safe_increment(state.count), next_eta, next_mu, ax)

    return optax.GradientTransformation(init_fn, update_fn)


def averaged_params(opt_state) -> optax.Params:
    """ASGD's averaged parameters ``ax`` out of a (possibly chained) translated optimizer state."""
    found = [s for s in jax.tree.leaves(opt_state, is_leaf=_is_asgd) if _is_asgd(s)]
    if len(found) != 1:
        raise ValueError(f"expected one ASGD state in the optimizer state, found {len(found)}")
    return found[0].ax


def _is_asgd(node) -> bool:
    return isinstance(node, TorchASGDState)
