"""Hand-written Optax transformations for torch's Adam (AMSGrad), Adamax, NAdam and RAdam."""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax

from .transforms import ScalarOrSchedule, like, torch_step, value_at


class TorchAdamState(NamedTuple):
    """State of :func:`torch_adam` and :func:`torch_radam` (``nu_max``: AMSGrad only)."""

    count: jax.Array
    mu: optax.Updates
    nu: optax.Updates
    nu_max: optax.Updates | None


def _lerp(m, g, b):
    """torch's ``exp_avg.lerp_(grad, 1 - beta)``."""
    return m + like(1.0 - b, g) * (g - m)


def _square_avg(v, g, b2):
    """torch's ``exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)``."""
    return like(b2, g) * v + like(1.0 - b2, g) * g * g


def torch_adam(
    b1: ScalarOrSchedule, b2: float, eps: float, amsgrad: bool = False
) -> optax.GradientTransformation:
    """``torch.optim.Adam``'s direction, before weight decay and learning rate.

    Needed instead of ``optax.scale_by_adam`` in two cases:

    * ``amsgrad``: torch keeps the running maximum of the *raw* second moment
      and divides it by the *current* ``sqrt(1 - beta2**t)``. Optax's
      ``scale_by_amsgrad`` takes the maximum of bias-corrected moments (or
      drops bias correction entirely); neither is torch's rule.
    * a scheduled ``beta1`` (OneCycleLR with ``cycle_momentum``): torch uses
      the current beta1 both in the moving average and in ``1 - beta1**t``.
    """

    def init_fn(params):
        zeros = optax.tree.zeros_like
        return TorchAdamState(
            count=jnp.zeros([], jnp.int32),
            mu=zeros(params),
            nu=zeros(params),
            nu_max=zeros(params) if amsgrad else None,
        )

    def update_fn(updates, state, params=None):
        del params
        t = torch_step(state.count)
        beta1 = value_at(b1, state.count)
        mu = jax.tree.map(lambda g, m: _lerp(m, g, beta1), updates, state.mu)
        nu = jax.tree.map(lambda g, v: _square_avg(v, g, b2), updates, state.nu)
        nu_max = jax.tree.map(jnp.maximum, state.nu_max, nu) if amsgrad else None
        second = nu_max if amsgrad else nu
        bc1 = 1.0 - beta1**t
        bc2_sqrt = jnp.sqrt(1.0 - b2**t)

        def direction(m, v):
            denom = jnp.sqrt(v) / like(bc2_sqrt, m) + like(eps, m)
            return m / like(bc1, m) / denom

        out = jax.tree.map(direction, mu, second)
        return out, TorchAdamState(optax.safe_increment(state.count), mu, nu, nu_max)

    return optax.GradientTransformation(init_fn, update_fn)


def torch_adamax(b1: ScalarOrSchedule, b2: float, eps: float) -> optax.GradientTransformation:
    """``torch.optim.Adamax`` with a scheduled ``beta1``.

    With a constant beta1 ``optax.scale_by_adamax`` already matches torch
    (``max(beta2 * u, |g| + eps)``, bias correction on the first moment
    only); it just cannot take a schedule.
    """

    def init_fn(params):
        zeros = optax.tree.zeros_like
        return TorchAdamState(jnp.zeros([], jnp.int32), zeros(params), zeros(params), None)

    def update_fn(updates, state, params=None):
        del params
        beta1 = value_at(b1, state.count)
        bc1 = 1.0 - beta1 ** torch_step(state.count)
        mu = jax.tree.map(lambda g, m: _lerp(m, g, beta1), updates, state.mu)
        nu = jax.tree.map(
            lambda g, u: jnp.maximum(like(b2, g) * u, jnp.abs(g) + like(eps, g)),
            updates,
            state.nu,
        )
        out = jax.tree.map(lambda m, u: m / like(bc1, m) / u, mu, nu)
        return out, TorchAdamState(optax.safe_increment(state.count), mu, nu, None)

    return optax.GradientTransformation(init_fn, update_fn)


class TorchNAdamState(NamedTuple):
    """State of :func:`torch_nadam`."""

    count: jax.Array
    mu_product: jax.Array  # torch keeps one per parameter; they are all equal
    mu: optax.Updates
    nu: optax.Updates


def torch_nadam(
    b1: ScalarOrSchedule, b2: float, eps: float, momentum_decay: float, scalar_dtype: str = "float64"
) -> optax.GradientTransformation:
    """``torch.optim.NAdam`` (Dozat's schedule with ``momentum_decay``).

    ``optax.nadam`` (``scale_by_adam(nesterov=True)``) uses a constant beta1
    and plain bias correction. Torch instead uses the momentum schedule
    ``mu_t = beta1 * (1 - 0.5 * 0.96 ** (t * momentum_decay))`` and the
    running product of the ``mu_t`` as the first-moment correction.

    Torch stores ``mu_product`` in float64 only when torch's default dtype is
    float64 (``_get_scalar_dtype``), otherwise in float32 *even for float64
    parameters*: it multiplies in that dtype and reads the product back as a
    Python float. ``scalar_dtype`` is that dtype (the translator reads it from
    torch); keeping the product in float64 instead is a 1e-8 error relative
    to the distance the parameters move.
    """

    def product_dtype():
        return jnp.float32 if scalar_dtype == "float32" else jnp.result_type(float)

    def init_fn(params):
        zeros = optax.tree.zeros_like
        one = jnp.ones([], product_dtype())
        return TorchNAdamState(jnp.zeros([], jnp.int32), one, zeros(params), zeros(params))

    def update_fn(updates, state, params=None):
        del params
        t = torch_step(state.count)
        beta1 = value_at(b1, state.count)
        bc2 = 1.0 - b2**t
        mu_t = beta1 * (1.0 - 0.5 * 0.96 ** (t * momentum_decay))
        mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((t + 1.0) * momentum_decay))
        stored = state.mu_product * like(mu_t, state.mu_product)  # torch: mu_product *= mu, in its dtype
        mu_product = stored.astype(jnp.result_type(float))  # torch's _get_value: a Python float
        mu_product_next = mu_product * mu_next
        grad_coef = (1.0 - mu_t) / (1.0 - mu_product)
        avg_coef = mu_next / (1.0 - mu_product_next)
        mu = jax.tree.map(lambda g, m: _lerp(m, g, beta1), updates, state.mu)
        nu = jax.tree.map(lambda g, v: _square_avg(v, g, b2), updates, state.nu)

        def direction(g, m, v):
            denom = jnp.sqrt(v / like(bc2, v)) + like(eps, v)
            return like(grad_coef, g) * g / denom + like(avg_coef, m) * m / denom

        out = jax.tree.map(direction, updates, mu, nu)
        new_state = TorchNAdamState(optax.safe_increment(state.count), stored, mu, nu)
        return out, new_state

    return optax.GradientTransformation(init_fn, update_fn)


def torch_radam(b1: ScalarOrSchedule, b2: float, eps: float) -> optax.GradientTransformation:
    """``torch.optim.RAdam``'s direction, before weight decay and learning rate.

    ``optax.scale_by_radam`` differs in eps placement: it divides by
    ``sqrt(nu_hat) + eps``, torch multiplies by ``sqrt(1 - beta2**t) /
    (sqrt(nu) + eps)``, i.e. torch's eps is effectively ``eps /
    sqrt(1 - beta2**t)``, large on early steps. It also switches on
    ``rho_t >= 5`` where torch uses ``rho_t > 5``.
    """

    def init_fn(params):
        zeros = optax.tree.zeros_like
        return TorchAdamState(jnp.zeros([], jnp.int32), zeros(params), zeros(params), None)

    def update_fn(updates, state, params=None):
        del params
        t = torch_step(state.count)
        beta1 = value_at(b1, state.count)
        bc1 = 1.0 - beta1**t
        bc2 = 1.0 - b2**t
        rho_inf = 2.0 / (1.0 - b2) - 1.0
        rho_t = rho_inf - 2.0 * t * (b2**t) / bc2
        rectify = rho_t > 5.0
        # The square root is only taken where torch takes it; the other branch
        # would be NaN for rho_t < 4 and poison gradients through jnp.where.
        safe_rho = jnp.where(rectify, rho_t, rho_inf)
        rect = jnp.sqrt(
            (safe_rho - 4.0) * (safe_rho - 2.0) * rho_inf / ((rho_inf - 4.0) * (rho_inf - 2.0) * safe_rho)
        )
        mu = jax.tree.map(lambda g, m: _lerp(m, g, beta1), updates, state.mu)
        nu = jax.tree.map(lambda g, v: _square_avg(v, g, b2), updates, state.nu)

        def direction(m, v):
            m_hat = m / like(bc1, m)
            adaptive = like(jnp.sqrt(bc2), v) / (jnp.sqrt(v) + like(eps, v))
            return jnp.where(rectify, m_hat * adaptive * like(rect, m), m_hat)

        out = jax.tree.map(direction, mu, nu)
        return out, TorchAdamState(optax.safe_increment(state.count), mu, nu, None)

    return optax.GradientTransformation(init_fn, update_fn)
