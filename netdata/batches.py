"""The seeded batch order both frameworks follow, so their minibatches are identical row for row."""

from __future__ import annotations

import functools

import numpy as np

from netdata.errors import InputError
from netdata.problems import ORDER_STREAM, rng


def steps_per_epoch(n: int, batch_size: int) -> int:
    """Full batches per epoch; a last partial batch is dropped so every step has the same shape."""
    if batch_size < 1:
        raise InputError(f"--batch-size must be at least 1, got {batch_size}")
    if batch_size > n:
        raise InputError(f"--batch-size {batch_size} is larger than the data ({n} rows); use at most {n}")
    return n // batch_size


@functools.lru_cache(maxsize=2)  # an epoch spans many chunks: a 10M-row permutation costs ~1 s to redraw
def epoch_order(seed: int, epoch: int, n: int) -> np.ndarray:
    """The permutation of rows for one epoch: a pure function of (seed, epoch, n); read-only, as it is shared."""
    order = rng(seed, ORDER_STREAM, epoch).permutation(n)
    order.setflags(write=False)
    return order


def indices(seed: int, n: int, batch_size: int, start: int, steps: int) -> np.ndarray:
    """Row indices of steps start .. start+steps-1, shape (steps, batch_size).

    The whole data set (batch_size == n) keeps the file's order, as the lecture's full-batch
    programs do; smaller batches follow one fresh permutation per epoch.
    """
    per_epoch = steps_per_epoch(n, batch_size)
    if batch_size == n:
        return np.broadcast_to(np.arange(n), (steps, n))
    out = np.empty((steps, batch_size), dtype=np.int64)
    cached_epoch, order = -1, None
    for i, step in enumerate(range(start, start + steps)):
        epoch, pos = divmod(step, per_epoch)
        if epoch != cached_epoch:
            cached_epoch, order = epoch, epoch_order(seed, epoch, n)
        out[i] = order[pos * batch_size:(pos + 1) * batch_size]
    return out
