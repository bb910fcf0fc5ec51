"""The chaos horizon: how long the float64 oracle stays within tolerance of itself when its start is nudged by one ulp.

Near a minimum, Adam (and a ReLU whose input sits at 0) turns a one-ulp difference into a large
one: two correct programs that round differently drift apart as far as the oracle drifts from its
own nudged copy. So a trajectory's losses are compared pointwise up to the step at which the
oracle's own nudge leaves the tolerance (the horizon); past it, and over the whole run, each step
is checked from the state each side reached (equivalence.lecture.defect). The horizon and its growth are
reported facts: they say why pointwise comparison ends there, and decide nothing past it.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import NamedTuple

import numpy as np

NUDGES = 4  # nudged runs beside the unnudged one: the horizon is the first any of them leaves; cheap when batched


class Nudged(NamedTuple):
    """The oracle run (index 0) and its nudged copies, trained together along a leading axis."""

    losses: np.ndarray  # (R, K) loss before each step, run 0 unnudged
    final_losses: np.ndarray  # (R,) loss of each run's final weights
    distance: np.ndarray  # (K,) largest relative distance of a nudged run from run 0, per step
    relu_flip: tuple[int, int, int] | None  # (step, layer, unit): first ReLU branch a nudge flips
    final: dict[str, np.ndarray] | None = None  # run 0's final parameters: the oracle's own trajectory
    nearest_zero: np.ndarray | None = None  # (K, 3) per step: min |z| / max |z| of run 0's hidden units, layer, unit
    states: dict[int, dict[str, np.ndarray]] | None = None  # run 0's exported state at the steps asked for

    def horizon(self, tol: float) -> int:
        """Steps before the first whose nudge exceeds `tol`; len(steps) when the whole run stays inside."""
        bad = np.flatnonzero(~(self.distance <= tol))  # NaN counts as outside
        return int(bad[0]) if bad.size else len(self.distance)

    def growth(self, tol: float) -> float:
        """The nudge's growth factor per 1000 steps, from its start to the horizon (or the run's end)."""
        steps = len(self.distance)
        h = min(self.horizon(tol), steps - 1)
        start, end = self.distance[0], self.distance[h]
        if h == 0 or not (start > 0 and np.isfinite(end) and end > 0):
            return 1.0
        return float((end / start) ** (1000.0 / h))


def nudge(weights: dict[str, np.ndarray], runs: int, seed: int = 0) -> dict[str, np.ndarray]:
    """(runs, ...) copies of every array: copy 0 as given, the others one ulp up or down per element.

    The ulp is that of the stored dtype: float64's for a float64 run, and float32's (the rounding a
    float32 start carries) for a float32 run, whose oracle stores in float32 like the frameworks.
    """
    rng = np.random.default_rng(seed)
    out = {}
    for k, w in weights.items():
        away = np.where(rng.random((runs - 1, *w.shape)) < 0.5, -np.inf, np.inf).astype(w.dtype)
        out[k] = np.concatenate([w[None], np.nextafter(np.broadcast_to(w, away.shape), away)])
    return out


def _relative(stacked: dict[str, np.ndarray]) -> np.ndarray:
    """(R-1,): per nudged run, max over arrays of ||p_r - p_0|| / ||p_0||."""
    worst = None
    for p in stacked.values():
        flat = p.reshape(len(p), -1)
        rel = np.linalg.norm(flat[1:] - flat[0], axis=1) / max(np.linalg.norm(flat[0]), np.finfo(np.float64).tiny)
        worst = rel if worst is None else np.maximum(worst, rel)
    return worst


def _first_flip(pre_activations: list[np.ndarray]) -> tuple[int, int] | None:
    """(layer, unit) of the first hidden unit whose ReLU branch differs between a nudged run and run 0."""
    for layer, z in enumerate(pre_activations):  # z: (R, N, H)
        on = z > 0
        units = np.flatnonzero(np.any(on[1:] != on[:1], axis=(0, 1)))
        if units.size:
            return layer, int(units[0])
    return None


def _nearest_zero(pre_activations: list[np.ndarray]) -> tuple[float, int, int]:
    """(|z| / max |z|, layer, unit) of run 0's hidden pre-activation closest to ReLU's branch point."""
    best = (np.inf, -1, -1)
    for layer, z in enumerate(pre_activations):
        a = np.abs(z[0])  # (N, H)
        i = np.unravel_index(np.argmin(a), a.shape)
        best = min(best, (float(a[i] / max(a.max(), np.finfo(np.float64).tiny)), layer, int(i[1])))
    return best


def _run0(reference: SimpleNamespace, t) -> dict[str, np.ndarray]:
    """Run 0's state as export() names it, stored as the oracle stores it (a scalar such as adam.step is shared)."""
    def one(v):
        v = np.array(v[0] if np.ndim(v) else v)
        return v.astype(t.storage) if np.issubdtype(v.dtype, np.floating) else v

    return {k: one(v) for k, v in reference.export(t).items()}


def run(reference: SimpleNamespace, weights: dict[str, np.ndarray], x: np.ndarray, y: np.ndarray,
        lr: float, steps: int, runs: int = NUDGES + 1, seed: int = 0, keep=()) -> Nudged:
    """Train the oracle and runs-1 nudged copies for `steps` full-batch steps, all in one batched program;
    run 0's state is kept at the steps in `keep` (0: the start, k: after k steps)."""
    params = {k: v for k, v in weights.items() if not k.startswith("adam.")}
    t = reference.build(params, lr)  # a fresh start: no optimizer state to resume
    t.params = {k: v.astype(np.float64) for k, v in nudge({k: params[k] for k in t.params}, runs, seed).items()}
    for k in t.mu:
        t.mu[k], t.nu[k] = np.zeros_like(t.params[k]), np.zeros_like(t.params[k])
    losses = np.empty((runs, steps))
    distance = np.empty(steps + 1)
    flip, near = None, []
    x1, y1 = x[None], y[None]
    scale = np.finfo(np.float64).tiny  # losses are measured against the largest so far, as normwise errors are
    keep, states = {int(k) for k in keep}, {}
    for k in range(steps):
        if k in keep:
            states[k] = _run0(reference, t)
        params_off = _relative(t.params)
        _, loss = reference.train(t, x1, y1)
        losses[:, k] = loss[0]
        scale = max(scale, abs(loss[0, 0]))
        loss_off = np.abs(loss[0, 1:] - loss[0, 0]) / scale
        distance[k] = np.max(np.maximum(params_off, loss_off), initial=0.0)
        if getattr(t, "pre_activations", None):
            near.append(_nearest_zero(t.pre_activations))
            unit = _first_flip(t.pre_activations) if flip is None else None
            flip = (k, *unit) if unit is not None else flip
    if steps in keep:
        states[steps] = _run0(reference, t)
    final, _ = reference.loss_and_grads(t, x, y)
    final_off = np.abs(final[1:] - final[0]) / max(scale, abs(final[0]))
    distance[steps] = np.max(np.maximum(_relative(t.params), final_off), initial=0.0)
    # The final weights count with the last step: a horizon of `steps` means the whole run held.
    distance[steps - 1] = max(distance[steps - 1], distance[steps])
    return Nudged(losses, np.asarray(final, dtype=np.float64), distance[:steps], flip,
                  {k: v[0] for k, v in t.params.items()}, np.array(near) if near else None, states)


def reach(distance: np.ndarray, deviation: np.ndarray, tol: float, unit: float) -> int:
    """Steps over which runs that deviate from the oracle's path by `deviation[j]` (relative) at each step j
    stay within `tol` of it: a deviation at step j grows as the one-ulp (`unit`) nudge grew from j on,
    distance[k] / distance[j], and deviations add up. Where a side rounds by more than an ulp of its state
    each step (float32 sums, an unstable run), this ends before the horizon."""
    grown = np.maximum.accumulate(np.fmax(np.nan_to_num(distance, nan=np.inf), unit))  # never below one nudge
    before = np.concatenate([[0.0], np.cumsum(deviation / grown)[:-1]])
    bad = np.flatnonzero(~(grown * before <= tol))
    return int(bad[0]) if bad.size else len(distance)

