"""Every state of a side's training run: the stage's own train() one step at a time, exported at each step.

The per-step defect (equivalence.lecture.defect) steps the oracle from each state a side reached, so a side's run
is recorded state by state: parameters, optimizer moments, step count, BatchNorm's running statistics,
as the stage's export() names them. PyTorch's train() is a Python loop already and is called once per
step. JAX's is one compiled scan; here the scan's body calls the stage's train() on one step and emits
the trainer's arrays after it, in chunks of CHUNK steps (the last one padded), so a 1000-step and a
5000-step run, the lecture's lr and the train regime's, share one compiled program per stage and dtype.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np


class Run(NamedTuple):
    """States 0..K of one run, each array stacked on a leading axis of K + 1, and the K losses."""

    states: dict[str, np.ndarray]  # (K + 1, ...) per exported name: state 0 is the start
    losses: np.ndarray  # (K,) the loss before each step


def stacked(exports: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    return {k: np.stack([np.asarray(e[k]) for e in exports]) for k in exports[0]}


def torch_run(stage, trainer, xs, ys, to_numpy: Callable) -> Run:
    """The stage's train() on one step at a time; export() after each."""
    exports, losses = [stage.export(trainer)], []
    for k in range(len(xs)):
        trainer, loss = stage.train(trainer, xs[k:k + 1], ys[k:k + 1])
        exports.append(stage.export(trainer))
        losses.append(to_numpy(loss)[0])
    return Run(stacked(exports), np.asarray(losses, dtype=np.float64))


def _is_array(leaf) -> bool:
    return isinstance(leaf, jax.Array | np.ndarray | np.generic)


def _export_map(stage, treedef, static: dict, arrays: list) -> dict[str, int | None]:
    """Exported name -> index of the array leaf it is (None: a constant such as dropout.seed).

    Two probe trainers whose leaf i is filled with i + 1, then with i + 1001: a name that reads both is
    that leaf, one that reads the same in both is not a leaf at all."""
    def probe(offset: int) -> dict[str, np.ndarray]:
        filled = iter(jnp.full(jnp.shape(a), i + offset, dtype=a.dtype) for i, a in enumerate(arrays))
        leaves = [static[i] if i in static else next(filled) for i in range(treedef.num_leaves)]
        return stage.export(jax.tree_util.tree_unflatten(treedef, leaves))

    a, b = probe(1), probe(1001)
    out: dict[str, int | None] = {}
    for name in a:
        va, vb = np.asarray(a[name]), np.asarray(b[name])
        i = int(va.flat[0]) - 1 if va.size else -1
        if 0 <= i < len(arrays) and np.all(va == i + 1) and np.all(vb == i + 1001) \
                and va.shape == np.shape(arrays[i]):
            out[name] = i
        elif np.array_equal(va, vb):
            out[name] = None
        else:
            raise ValueError(f"{name}: export() is not one leaf of the trainer; record it with torch_run")
    return out


def jax_run(stage, trainer, xs, ys) -> Run:
    """The stage's train() on one step at a time (one compiled program, the one a single update runs);
    the trainer's arrays after each step, named as export() names them, fetched once at the end."""
    leaves, treedef = jax.tree_util.tree_flatten(trainer)
    static = {i: leaf for i, leaf in enumerate(leaves) if not _is_array(leaf)}
    names = _export_map(stage, treedef, static, [leaf for i, leaf in enumerate(leaves) if i not in static])
    start = stage.export(trainer)
    emitted, losses = [], []
    for k in range(len(xs)):
        trainer, loss = stage.train(trainer, xs[k:k + 1], ys[k:k + 1])
        # Wait for each step: a host callback (the cnn's dropout masks) run later, on the runtime's thread,
        # would run outside this thread's float64 context and return float32.
        jax.block_until_ready(loss)
        emitted.append([leaf for leaf in jax.tree_util.tree_leaves(trainer) if _is_array(leaf)])
        losses.append(loss)
    emitted, losses = jax.device_get((emitted, losses))
    states = {}
    for name, i in names.items():
        first = np.asarray(start[name])
        rest = (np.stack([np.asarray(e[i]) for e in emitted]).astype(first.dtype) if i is not None
                else np.broadcast_to(first, (len(xs), *first.shape)))
        states[name] = np.concatenate([first[None], rest])
    return Run(states, np.concatenate([np.ravel(v) for v in losses]).astype(np.float64))
