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
    # inject_hyperparams(optax.adam): its inner state is chain(scale_by_adam, scale_by_learning_rate)'s;
    # its hyperparams (the lr) are settings, not state to carry over: build() sets them.
    return optimizer.opt_state.inner_state[0]


def paths(path: tuple = (), prefix: str = "") -> dict[str, tuple]:
    """An nnx.Linear's parameters by canonical name, each with its path in the model's state."""
    return {f"{prefix}{name}": path + (attr,) for name, attr in NAMES.items()}


def export_adam(optimizer: nnx.Optimizer, path: tuple[str, ...] = ()) -> dict[str, np.ndarray]:
    """Adam's moments as `adam.mu.<name>` / `adam.nu.<name>` and its count as `adam.step`."""
    return export_adam_at(optimizer, paths(path))


def load_adam(optimizer: nnx.Optimizer, state: dict[str, np.ndarray], path: tuple[str, ...] = ()) -> None:
    """Resume Adam from canonical state; leave Optax's zeros when the state has no `adam.step`."""
    load_adam_at(optimizer, state, paths(path))


def _at(tree, path: tuple):
    for key in path:
        tree = tree[key]
    return tree


def export_adam_at(optimizer: nnx.Optimizer, where: dict[str, tuple]) -> dict[str, np.ndarray]:
    """`export_adam` for any parameters: {canonical name: path in the model's state}."""
    adam = _adam(optimizer)
    out = {}
    for name, path in where.items():
        out[f"adam.mu.{name}"], out[f"adam.nu.{name}"] = numpy(_at(adam.mu, path)[...]), numpy(_at(adam.nu, path)[...])
    out["adam.step"] = np.asarray(int(adam.count[...]), dtype=np.int64)
    return out


def load_adam_at(optimizer: nnx.Optimizer, state: dict[str, np.ndarray], where: dict[str, tuple]) -> None:
    """`load_adam` for any parameters: {canonical name: path in the model's state}."""
    if int(state.get("adam.step", 0)) == 0:
        return
    adam = _adam(optimizer)
    for name, path in where.items():
        _at(adam.mu, path)[...] = array(state[f"adam.mu.{name}"])
        _at(adam.nu, path)[...] = array(state[f"adam.nu.{name}"])
    adam.count[...] = int(state["adam.step"])
    optimizer.opt_state.count[...] = int(state["adam.step"])  # inject_hyperparams' own step count
    optimizer.step[...] = int(state["adam.step"])
