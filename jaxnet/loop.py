"""One compiled program per chunk of steps: `jax.lax.scan` inside `jax.jit`, the state carried as flat vectors.

A Python loop around `nnx.jit` pays NNX's graph traversal on every step (~320 us here); scanning over
the steps inside one `jax.jit` costs ~2 us a step instead. Two layouts keep the rest of the overhead out
(measured on the lecture's problem, 1000-step chunks, by benchmarks/bench.py's jax-scan and jax-floor):
- The trainer crosses the jit boundary as a plain pytree (Flax NNX objects are JAX pytrees): flattening
  it costs ~40 us a chunk, where nnx.split, nnx.merge and hashing the GraphDef cost ~500 us.
- Inside the scan the small leaves are one vector per dtype (weights, Adam's moments and the lr in one
  float vector), so XLA fuses their whole optimizer update into one loop instead of one per leaf, as a
  hand-written one-vector Adam does: on the lecture's problem 1.49x -> 1.16x jax-floor's CPU time a step.
  Large leaves stay as they are: slicing a big weight out of a vector for its matmul is a copy, and the
  784-1024-1024-10 mlp took 12% longer a step with everything in one vector (CPU time, 1 thread).
Nothing is donated: the caller's trainer keeps its arrays, and a chunk's one allocation is not worth it.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np


def _is_array(leaf) -> bool:
    """Arrays are traced; any other leaf (a Python int such as a seed) is a constant of the program."""
    return isinstance(leaf, jax.Array | np.ndarray | np.generic)


SMALL = 1 << 14  # elements: at most 64 KB of float32, where a kernel's launch costs more than its work


def _flat(a) -> bool:
    return np.size(a) <= SMALL and not jax.dtypes.issubdtype(a.dtype, jax.dtypes.extended)  # PRNG keys stay


class _Layout:
    """Which small array leaves go into which flat vector (one per dtype), and all shapes: fixed at trace time."""

    def __init__(self, arrays: list):
        self.shapes = [jnp.shape(a) for a in arrays]
        groups: dict = {}
        for i, a in enumerate(arrays):
            if _flat(a):
                groups.setdefault(jnp.dtype(a.dtype), []).append(i)
        self.groups = list(groups.values())
        flat = {i for g in self.groups for i in g}
        self.loose = [i for i in range(len(arrays)) if i not in flat]

    def pack(self, arrays: list):
        return [jnp.concatenate([jnp.ravel(arrays[i]) for i in g]) for g in self.groups], [arrays[i] for i in self.loose]

    def unpack(self, carry) -> list:
        vectors, loose = carry
        out = [None] * len(self.shapes)
        for g, vector in zip(self.groups, vectors):
            start = 0
            for i in g:
                size = int(np.prod(self.shapes[i]))
                out[i] = vector[start:start + size].reshape(self.shapes[i])
                start += size
        for i, a in zip(self.loose, loose):
            out[i] = a
        return out


def _leaves(treedef, static: tuple, arrays) -> list:
    """All leaves in order: the traced arrays with the constant leaves put back at their places."""
    leaves, it, constants = [], iter(arrays), dict(static)
    for i in range(treedef.num_leaves):
        leaves.append(constants[i] if i in constants else next(it))
    return leaves


@partial(jax.jit, static_argnums=(0, 1, 2))
def _scan(step: Callable, treedef, static: tuple, arrays: list, xs, ys):
    layout = _Layout(arrays)

    def body(carry, batch):
        trainer = jax.tree_util.tree_unflatten(treedef, _leaves(treedef, static, layout.unpack(carry)))
        trainer, loss = step(trainer, *batch)  # every JAX stage's step: (trainer, x, y) -> (trainer, loss)
        return layout.pack([a for a in jax.tree_util.tree_leaves(trainer) if _is_array(a)]), loss

    carry, losses = jax.lax.scan(body, layout.pack(arrays), (xs, ys))
    return layout.unpack(carry), losses


def scan_steps(step: Callable, trainer, xs: jax.Array, ys: jax.Array):
    """Run `step(trainer, x, y) -> (trainer, loss)` once per leading index of xs/ys: (new trainer, losses).

    `trainer` is a NamedTuple of NNX objects and arrays; `step` must be a module-level function (it is
    part of the compilation cache key, as are the trainer's structure and its non-array leaves). The
    arrays, a learning rate among them, are traced, so a new value does not recompile. The caller's
    trainer is left as it was: the trained one is returned.
    """
    leaves, treedef = jax.tree_util.tree_flatten(trainer)
    static = tuple((i, leaf) for i, leaf in enumerate(leaves) if not _is_array(leaf))
    arrays, losses = _scan(step, treedef, static, [leaf for leaf in leaves if _is_array(leaf)], xs, ys)
    return jax.tree_util.tree_unflatten(treedef, _leaves(treedef, static, arrays)), losses
