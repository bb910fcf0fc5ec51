"""One compiled program per chunk of steps: `jax.lax.scan` inside `jax.jit`, Flax NNX via split/merge.

A Python loop around `nnx.jit` pays NNX's graph traversal on every step (~320 us here); splitting
the trainer once and scanning over the steps inside one `jax.jit` costs ~2 us a step instead.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import jax
from flax import nnx


@partial(jax.jit, static_argnums=(0, 1))
def _scan(step: Callable, graphdef: nnx.GraphDef, state: nnx.State, xs, ys):
    def body(state, batch):
        trainer = nnx.merge(graphdef, state)  # trace-time only: no cost per step once compiled
        trainer, loss = step(trainer, *batch)  # every JAX stage's step: (trainer, x, y) -> (trainer, loss)
        return nnx.state(trainer), loss

    return jax.lax.scan(body, state, (xs, ys))


def scan_steps(step: Callable, trainer, xs: jax.Array, ys: jax.Array):
    """Run `step(trainer, x, y) -> (trainer, loss)` once per leading index of xs/ys: (new trainer, losses).

    `trainer` is a NamedTuple of NNX objects and arrays; `step` must be a module-level function (it is
    part of the compilation cache key). The arrays, a learning rate among them, are traced, so a new
    value does not recompile. The caller's trainer is left as it was: the trained one is returned.
    """
    graphdef, state = nnx.split(trainer)
    state, losses = _scan(step, graphdef, state, xs, ys)
    return nnx.merge(graphdef, state), losses
