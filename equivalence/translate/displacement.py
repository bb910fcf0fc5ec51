"""Error relative to the displacement, and the non-chaotic horizon over which it is meaningful."""

from __future__ import annotations

import numpy as np

NUDGE = 1e-15  # relative perturbation of the starting point
HORIZON_TOL = 1e-11  # how far a nudged torch run may stray and still count as "the same run"
MIN_HORIZON = 10  # fewer comparable steps than this cannot tell right from wrong


def flat(params) -> np.ndarray:
    """(n,) float64: (nested lists of) arrays, flattened and concatenated in order."""
    if isinstance(params, (list, tuple)):
        return np.concatenate([flat(q) for q in params]) if params else np.zeros(0)
    return np.ravel(np.asarray(params, dtype=np.float64))


def stack(trajectory) -> np.ndarray:
    """(steps, n) float64: each step's parameters, flattened and concatenated in order."""
    return np.stack([flat(step) for step in trajectory])


def displacement_errors(reference: np.ndarray, other: np.ndarray, start_ref, start_other=None) -> np.ndarray:
    """Per step ``||(theta_t - theta_0)_ref - (theta_t - theta_0)_other|| / ||(theta_t - theta_0)_ref||``.

    The weights themselves are dominated by their starting value, which hides
    an error in the updates by the ratio of the two; the displacement does not.
    Where the reference has not moved at all the absolute difference is used.
    NaN anywhere gives NaN, which fails every ``<=`` bound.
    """
    start_other = start_ref if start_other is None else start_other
    moved = reference - np.asarray(start_ref)[None]
    moved_other = other - np.asarray(start_other)[None]
    diff = np.linalg.norm(moved - moved_other, axis=1)
    scale = np.linalg.norm(moved, axis=1)
    safe = np.where(scale == 0, 1.0, scale)
    return np.where(scale == 0, diff, diff / safe)


def horizon(errors_of_nudged_run: np.ndarray, tol: float = HORIZON_TOL) -> int:
    """The number of leading steps over which torch's nudged run stays within ``tol`` of itself.

    Past it, a 1e-15 difference in the start has grown beyond what the
    comparison is meant to resolve (RMSprop at lr 1e-2 on least squares grows
    it to 1e-3 in 200 steps), so agreement there proves nothing either way.
    """
    bad = ~(errors_of_nudged_run <= tol)  # NaN counts as bad
    return int(np.argmax(bad)) if bad.any() else int(errors_of_nudged_run.size)


def within_horizon(errors: np.ndarray, steps: int) -> float:
    """The worst error over the first ``steps`` steps; NaN when that is too short to judge."""
    if steps < min(MIN_HORIZON, errors.size):
        return float("nan")
    return float(np.max(errors[:steps])) if steps else float("nan")
