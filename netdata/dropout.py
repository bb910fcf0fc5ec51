"""Dropout masks from the shared seed stream: both frameworks (and the oracle) drop the same units at each step."""

from __future__ import annotations

import numpy as np

from netdata.problems import DROPOUT_STREAM, rng


def masks(seed: int, start: int, steps: int, shape: tuple[int, ...], p: float, dtype=np.float32) -> np.ndarray:
    """(steps, *shape) inverted-dropout masks for steps start .. start+steps-1: 0 with probability p, else 1/(1-p).

    Step k draws from its own generator (seed, DROPOUT_STREAM, k), so a chunk, a resumed run or a single
    measured step gets the same mask for step k however the run is cut. The scale is applied in float64
    and rounded once to `dtype`; both frameworks multiply their features by this very array.
    """
    if not 0.0 <= p < 1.0:
        raise ValueError(f"dropout probability must be in [0, 1), got {p}")
    out = np.empty((steps, *shape), dtype=dtype)
    for i in range(steps):
        keep = rng(seed, DROPOUT_STREAM, start + i).random(shape) >= p
        out[i] = np.where(keep, 1.0 / (1.0 - p), 0.0)
    return out
