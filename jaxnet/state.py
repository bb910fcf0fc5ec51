"""Canonical weights and Adam state <-> Flax's `nnx.Linear` (kernel = w) and Optax's `mu`/`nu`/`count`."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
from flax import nnx

from jaxnet.device import array, numpy

NAMES = {"w": "kernel", "b": "bias"}  # canonical name -> Flax attribute; no transpose needed


def load_linear(linear: nnx.Linear, weights: dict[str, np.ndarray]) -> None:
    for name, attr in NAMES.items():
        getattr(linear, attr)[...] = array(weights[name])


def export_linear(linear: nnx.Linear) -> dict[str, np.ndarray]:
    return {name: numpy(getattr(linear, attr)[...]) for name, attr in NAMES.items()}


def linear_grads(grads: nnx.State) -> dict[str, jnp.ndarray]:
    """Gradients of an nnx.Linear (a State with kernel and bias) in canonical names."""
    return {name: grads[attr][...] for name, attr in NAMES.items()}


def _adam(optimizer: nnx.Optimizer):
    return optimizer.opt_state[0]  # optax.adam = chain(scale_by_adam, scale_by_learning_rate)


def export_adam(optimizer: nnx.Optimizer, path: tuple[str, ...] = ()) -> dict[str, np.ndarray]:
    """Adam's moments as `adam.mu.<name>` / `adam.nu.<name>` and its count as `adam.step`."""
    adam = _adam(optimizer)
    out = {}
    for name, attr in NAMES.items():
        mu, nu = adam.mu, adam.nu
        for key in path + (attr,):
            mu, nu = mu[key], nu[key]
        out[f"adam.mu.{name}"], out[f"adam.nu.{name}"] = numpy(mu[...]), numpy(nu[...])
    out["adam.step"] = np.asarray(int(adam.count[...]), dtype=np.int64)
    return out


def load_adam(optimizer: nnx.Optimizer, state: dict[str, np.ndarray], path: tuple[str, ...] = ()) -> None:
    """Resume Adam from canonical state; leave Optax's zeros when the state has no `adam.step`."""
    if int(state.get("adam.step", 0)) == 0:
        return
    adam = _adam(optimizer)
    for name, attr in NAMES.items():
        mu, nu = adam.mu, adam.nu
        for key in path + (attr,):
            mu, nu = mu[key], nu[key]
        mu[...], nu[...] = array(state[f"adam.mu.{name}"]), array(state[f"adam.nu.{name}"])
    adam.count[...] = int(state["adam.step"])
    optimizer.step[...] = int(state["adam.step"])
