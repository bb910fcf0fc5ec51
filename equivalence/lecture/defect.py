"""The per-step defect: from each state a side reached, the oracle's one step against the side's own next state, in ulps.

Chaos amplifies differences between steps, but it cannot make a correct step look wrong when each step
is checked from the state the side actually reached: ||A[k+1] - oracle(A[k])|| / (eps * ||A[k+1]||) per
array (eps of the side's dtype; the oracle computes in float64 and stores in the side's dtype, so a
float32 side meets its step rounded to float32), the largest over arrays. The oracle steps every
recorded state at once, along the leading runs axis its formulas already carry.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

CHUNK = 256  # states stepped by the oracle at once: bounds the memory of the cnn's patches
# Stages whose oracle step is too slow to take from every state: the first EVERY steps, then one in EVERY.
# The cnn's hand-written convolutions in NumPy take 2-7 ms a state (the linear stages' and the mlp's ~20 us).
EVERY = {"cnn": 10}


class Defects(NamedTuple):
    """One side's per-step defects over a run."""

    steps: np.ndarray  # (S,) the steps k checked: state k -> k + 1
    ulps: np.ndarray  # (S,) largest over arrays of the defect in ulps of the state
    worst: list[str]  # (S,) the array that gave it
    diverged: int | None  # the first step whose state after it is not finite (not checked further)
    relative: np.ndarray | None = None  # (S,) largest over arrays of ||A[k+1] - oracle(A[k])|| / ||A[k+1]||

    def per_step(self, steps: int, bound: float) -> np.ndarray:
        """(steps,) each step's relative deviation, at most what a defect of `bound` ulps allows (a wrong step
        does not shorten the comparison a correct one is held to); an unchecked step takes the largest."""
        if self.relative is None or not len(self.relative):
            return np.zeros(steps)
        with np.errstate(divide="ignore", invalid="ignore"):
            capped = self.relative * np.where(self.ulps > bound, bound / self.ulps, 1.0)
        out = np.full(steps, float(np.max(capped)))
        out[self.steps] = capped
        return out

    def first_above(self, bound: float) -> int | None:
        """Index into steps of the first defect above `bound` (NaN counts as above), or None."""
        bad = np.flatnonzero(~(self.ulps <= bound))
        return int(bad[0]) if bad.size else None

    @property
    def max(self) -> float:
        return float(np.max(self.ulps, initial=0.0))


def sample(steps: int, every: int | None) -> np.ndarray:
    """The steps to check: all of them, or the first `every` and then one in `every` up to the last."""
    if every is None or every <= 1 or steps <= every:
        return np.arange(steps)
    return np.unique(np.r_[np.arange(every), np.arange(every, steps, every), steps - 1])


def oracle_step(reference, before: dict[str, np.ndarray], x: np.ndarray, y: np.ndarray, lr: float) -> dict[str, np.ndarray]:
    """The oracle's one step from each of S states (arrays (S, ...)), all at once: the S next states."""
    t = reference.build({k: v[0] for k, v in before.items()}, lr)
    t.grad_scale = {} if hasattr(t, "grad_scale") else None  # ask for the step's sensitivity to rounding
    t.params = {k: before[k].astype(np.float64) for k in t.params}
    if getattr(t, "mu", None):
        t.mu = {k: before[f"adam.mu.{k}"].astype(np.float64) for k in t.mu}
        t.nu = {k: before[f"adam.nu.{k}"].astype(np.float64) for k in t.nu}
        t.step = before["adam.step"].astype(np.int64)
    with np.errstate(over="ignore", invalid="ignore"):  # a diverging state overflows here as in the sides
        reference.train(t, x[None], y[None])
    out = reference.export(t)
    out = {k: v if np.ndim(v) == np.ndim(before[k]) else np.broadcast_to(v, before[k].shape) for k, v in out.items()}
    return out, getattr(t, "sensitivity", None) or {}


def _ulps(after: np.ndarray, oracle: np.ndarray, eps: float, sensitivity: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """(S,) ||after - oracle|| / (eps * (||after|| + ||sensitivity||)) per state, and (S,) ||after - oracle|| /
    ||after||; an integer array must match exactly."""
    if not np.issubdtype(after.dtype, np.floating):
        same = np.all((after == oracle).reshape(len(after), -1), axis=1)
        return np.where(same, 0.0, np.inf), np.where(same, 0.0, np.inf)
    a, o = after.reshape(len(after), -1).astype(np.float64), oracle.reshape(len(after), -1).astype(np.float64)
    diff, size = np.linalg.norm(a - o, axis=1), np.linalg.norm(a, axis=1)
    scale = size
    if sensitivity is not None:
        scale = size + np.linalg.norm(np.broadcast_to(sensitivity, oracle.shape).reshape(len(a), -1), axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):  # 0 when equal; x / 0 is inf
        return np.where(diff == 0, 0.0, diff / (eps * scale)), np.where(diff == 0, 0.0, diff / size)


def finite(states: dict[str, np.ndarray]) -> np.ndarray:
    """(K,) whether every array of each state is finite."""
    ok = None
    for v in states.values():
        f = np.all(np.isfinite(v.reshape(len(v), -1)), axis=1) if np.issubdtype(v.dtype, np.floating) \
            else np.ones(len(v), dtype=bool)
        ok = f if ok is None else ok & f
    return ok


def defects(reference, states: dict[str, np.ndarray], x: np.ndarray, y: np.ndarray, lr: float,
            every: int | None = None, until: int | None = None, eps: float | None = None) -> Defects:
    """Per-step defects of a run's states (K + 1, ...), up to its first non-finite state or step `until`
    (a run diverging: its loss, and so the oracle's sums, overflow before its state does)."""
    steps = len(next(iter(states.values()))) - 1
    ok = finite(states)
    diverged = int(np.argmin(ok)) - 1 if not ok.all() else None  # step k made state k + 1 non-finite
    k = sample(steps, every)
    stop = min(s for s in (diverged, until, steps) if s is not None)
    k = k[k < stop]
    d = defects_of(reference, {n: v[k] for n, v in states.items()}, {n: v[k + 1] for n, v in states.items()},
                   k, x, y, lr, eps)
    return d._replace(diverged=diverged)


def defects_of(reference, before: dict[str, np.ndarray], after: dict[str, np.ndarray], steps: np.ndarray,
               x: np.ndarray, y: np.ndarray, lr: float, eps: float | None = None) -> Defects:
    """Defects of S steps given the states before and after each, (S, ...) arrays; in units of `eps`
    (default: the states' dtype's; a side with TF32 matmuls computes to tolerance.EPS["tf32"])."""
    if eps is None:
        eps = float(np.finfo(next(v.dtype for v in after.values() if np.issubdtype(v.dtype, np.floating))).eps)
    ulps, relative, worst = np.zeros(len(steps)), np.zeros(len(steps)), [""] * len(steps)
    for c in range(0, len(steps), CHUNK):
        part = slice(c, c + CHUNK)
        stepped, sensitivity = oracle_step(reference, {n: v[part] for n, v in before.items()}, x, y, lr)
        for name, a in after.items():
            u, rel = _ulps(a[part], stepped[name], eps, sensitivity.get(name))
            relative[part] = np.fmax(relative[part], rel)
            for i in np.flatnonzero(~(u <= ulps[part])):  # NaN counts as larger
                ulps[c + i], worst[c + i] = u[i], name
    return Defects(np.asarray(steps), ulps, worst, None, relative)
