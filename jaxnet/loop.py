"""One compiled program per chunk of steps: `jax.lax.scan` inside `jax.jit`, Flax NNX via split/merge.

A Python loop around `nnx.jit` pays NNX's graph traversal on every step (~320 us here); splitting
the objects once and scanning over the steps inside one `jax.jit` costs ~2 us a step instead.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import jax
from flax import nnx


@partial(jax.jit, static_argnums=(0, 1))
def _scan(step: Callable, graphdef: nnx.GraphDef, state: nnx.State, xs, ys, *args):
    def body(state, batch):
        objects = nnx.merge(graphdef, state)  # trace-time only: no cost per step once compiled
        loss = step(*objects, *batch, *args)  # step mutates the merged objects, NNX style
        return nnx.state(objects), loss

    return jax.lax.scan(body, state, (xs, ys))


def scan_steps(step: Callable, objects: tuple, xs: jax.Array, ys: jax.Array, *args) -> jax.Array:
    """Run `step(*objects, x, y, *args) -> loss` once per leading index of xs/ys; update objects.

    `step` must be a module-level function (it is part of the compilation cache key) and `args`
    are traced, so changing a learning rate does not recompile.
    """
    graphdef, state = nnx.split(objects)
    state, losses = _scan(step, graphdef, state, xs, ys, *args)
    nnx.update(objects, state)
    return losses
