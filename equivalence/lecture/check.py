"""Predictions, gradients, one update and a whole training run: each side measured, each pair compared.

A training run is judged by the defect of every step (equivalence.lecture.defect: from the state each side
reached, the oracle's one step against the side's own next state, in ulps) and by its losses compared
pointwise up to its chaos horizon (equivalence.lecture.horizon), past which rounding, not a bug, parts them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from equivalence import tolerance

from equivalence.lecture import defect, horizon
from equivalence.lecture.stages import REGIMES, TRAIN_STEPS, Row, Setup, in_regime

QUANTITIES = ("predictions", "gradients", "update", "trajectory")
PAIRS = (("torch", "jax"), ("torch", "reference"), ("jax", "reference"))
Arrays = dict[str, np.ndarray]
# A trajectory's losses and final weights are compared pointwise; its optimizer state is not (over
# thousands of float32 steps Adam's second moment carries its own rounding, amplified ~1/(1 - beta2) =
# 1000x, in every implementation alike), but every step of it is checked by the per-step defect.
# The cnn's dropout.seed (the seed of its masks' stream) is a constant, not a trained weight.
OPTIMIZER_STATE = ("adam.", "dropout.")
SEPARATION = tolerance.TOLERANCES["float32"].rel  # "the frameworks separate": a float32 user's yardstick
NEAR_MINIMUM = 0.01  # the loss has less than 1% of its whole fall left to go
NEAR_ZERO = 1e-4  # a ReLU input this close to 0 (relative to the layer's largest) can flip under float32 rounding


@dataclass
class Side:
    """How to run one implementation: its context, and conversions NumPy <-> its arrays."""

    name: str
    context: Callable[[], contextlib.AbstractContextManager]
    to_array: Callable[[np.ndarray], Any]
    to_numpy: Callable[[Any], np.ndarray]
    device: Any
    mode: str  # key of tolerance.TOLERANCES
    trajectory: Arrays | None = None  # already measured (the oracle's run 0 of the horizon): not run again


def sides(setup: Setup) -> dict[str, Side]:
    import jaxnet.device as jd  # imported here: only `check` needs both frameworks at once
    import torchnet.device as td

    tdev = td.resolve(setup.device)
    jd.resolve(setup.device)  # fail before any work when the device is missing

    @contextlib.contextmanager
    def torch_context():
        import torch

        td.pin_precision()
        threads = torch.get_num_threads()
        torch.set_num_threads(1)  # ops on 64 x 4 arrays: more threads only wait on each other
        try:
            yield
        finally:
            torch.set_num_threads(threads)

    return {
        "torch": Side("torch", torch_context, lambda a: td.tensor(a, tdev), td.numpy, tdev,
                      tolerance.mode(setup.dtype, "highest", setup.device)),
        "jax": Side("jax", lambda: jd.context(setup.device, setup.dtype, setup.precision), jd.array, jd.numpy,
                    None, tolerance.mode(setup.dtype, setup.precision, setup.device)),
        "reference": Side("reference", contextlib.nullcontext, np.asarray, np.asarray, None, "float64"),
    }


def measure(row: Row, side: Side, setup: Setup) -> dict[str, Arrays]:
    """Everything one implementation computes from the shared start, as float64 NumPy arrays; its run's
    states (K + 1, ...) under "states", in its own dtype."""
    from equivalence.lecture import record  # imports JAX

    stage = getattr(row, side.name)
    weights, x, y = row.problem(setup)

    def f64(arrays: dict) -> Arrays:  # exports are NumPy already; framework arrays are converted
        return {k: np.asarray(v if isinstance(v, np.ndarray) else side.to_numpy(v), dtype=np.float64)
                for k, v in arrays.items()}

    with side.context():
        xa, ya = side.to_array(x), side.to_array(y)
        trainer = stage.build(weights, setup.lr, side.device)
        out = {"predictions": f64({"y_pred": stage.predict(trainer, xa)})}
        loss, grads = stage.loss_and_grads(trainer, xa, ya)
        out["gradients"] = f64({"loss": loss} | dict(grads))
        if side.trajectory is not None:
            return out | {"update": side.trajectory.pop("update"), "trajectory": side.trajectory}
        xs = side.to_array(np.broadcast_to(x, (setup.steps, *x.shape)))  # full batch every step
        ys = side.to_array(np.broadcast_to(y, (setup.steps, *y.shape)))
        if side.name == "jax":
            run = record.jax_run(stage, trainer, xs, ys)
        else:
            run = record.torch_run(stage, trainer, xs, ys, side.to_numpy)
    # One update is the run's first step: the same program, not one more to compile.
    out["update"] = f64({k: np.asarray(v[1]) for k, v in run.states.items()})
    final = {k: np.asarray(v[-1]) for k, v in run.states.items() if not k.startswith(OPTIMIZER_STATE)}
    return out | {"trajectory": f64({"losses": run.losses} | final), "states": run.states}


def errors(a: Arrays, b: Arrays, ref: Arrays) -> tuple[float, float]:
    """(max |a - b|, max over arrays of ||a - b|| / ||ref||); a missing or misshapen array is infinite."""
    if a.keys() != b.keys() or any(a[k].shape != b[k].shape for k in a):
        return float("inf"), float("inf")
    max_abs = max(float(np.max(np.abs(a[k] - b[k]), initial=0.0)) for k in a)
    rel = 0.0
    for k in a:
        unit = float(np.max(np.abs(ref[k]), initial=0.0))  # norms of a run near overflow would overflow
        unit = unit if 0 < unit < np.inf else 1.0
        diff, scale = np.linalg.norm((a[k] - b[k]) / unit), np.linalg.norm(ref[k] / unit)
        rel = max(rel, float(diff / scale) if scale > 0 else float(diff * unit))
    return max_abs, rel


def first_bad_step(a: Arrays, b: Arrays, ref: Arrays, tol: float, steps: int, rel: float) -> int | None:
    """The first step whose loss leaves tolerance; `steps` when only the final weights do; else None."""
    if rel <= tol:
        return None
    la, lb, lr = a.get("losses"), b.get("losses"), ref.get("losses")
    if la is not None and lb is not None and la.shape == lb.shape == lr.shape:
        step_err = np.abs(la - lb) / np.maximum(np.abs(lr), np.finfo(np.float64).tiny)
        bad = np.flatnonzero(~(step_err <= tol))  # NaN counts as bad
        if bad.size:
            return int(bad[0])
    return steps


def divergence(losses: np.ndarray, states: dict[str, np.ndarray] | None, dtype: str) -> int | None:
    """The first step whose loss or state leaves the dtype's range (inf, NaN, or beyond its largest value)."""
    big = np.finfo(dtype).max
    bad = np.flatnonzero(~(np.abs(losses) <= big))
    step = int(bad[0]) if bad.size else None
    if states is not None:
        ok = defect.finite(states)
        if not ok.all():
            step = min(step if step is not None else len(ok), int(np.argmin(ok)) - 1)
    return step


def judge_trajectory(a: Arrays, b: Arrays, ref: Arrays, tol: float, steps: int, nudged: horizon.Nudged,
                     defects: tuple[defect.Defects, defect.Defects], diverged: tuple[int | None, int | None, int | None],
                     bound: float, pair: tuple[str, str] = ("torch", "jax")) -> dict:
    """Every step's defect within `bound` (first bad step and array named), and the losses within `tol`
    up to the horizon or the first divergence; a run diverges in the pair and the oracle or in none of them.
    `diverged` is (torch, jax, reference)'s first divergent step."""
    h = nudged.horizon(tol)
    unit = float(np.finfo(np.float32 if tol >= tolerance.TOLERANCES["float32"].rel else np.float64).eps)
    deviation = defects[0].per_step(steps, bound) + defects[1].per_step(steps, bound)
    compared = min(h, horizon.reach(nudged.distance, deviation, tol, unit))
    cut = min([compared, *(d for d in diverged if d is not None)])
    out = {"horizon": h, "growth_per_1000": nudged.growth(tol), "diverged": list(diverged), "compared_steps": cut}
    if cut >= steps:  # the whole run is predictable: every loss and the final weights
        max_abs, rel = errors(a, b, ref)
        first_bad = first_bad_step(a, b, ref, tol, steps, rel)
    else:
        cut_runs = [{"losses": d["losses"][:cut]} for d in (a, b, ref)]
        max_abs, rel = errors(*cut_runs)
        first_bad = first_bad_step(*cut_runs, tol, cut, rel)
    worst = max(defects, key=lambda d: d.max)
    firsts = [(int(d.steps[i]), d.worst[i], float(d.ulps[i])) for d in defects
              if (i := d.first_above(bound)) is not None]
    first = min(firsts, default=None)
    names = ("torch", "jax", "reference")
    judged = {names.index(n) for n in (*pair, "reference")}
    alone = len({diverged[i] is None for i in judged}) > 1  # some diverged, some did not
    out |= {"max_abs": max_abs, "rel_err": rel, "first_bad_step": first_bad,
            "defect_ulps": worst.max, "defect_bound": bound, "defect_step": None if first is None else first[0],
            "defect_array": None if first is None else first[1],
            "defect_checked": int(min(len(d.steps) for d in defects)),
            "passed": bool(rel <= tol and first is None and not alone)}
    return out


def separation(a: Arrays, b: Arrays, ref: Arrays, nudged: horizon.Nudged, adam: bool) -> tuple[int | None, str | None]:
    """The first step whose losses differ by more than 1e-5 relative, and why when it is known."""
    la, lb, lr = (d.get("losses") for d in (a, b, ref))
    if la is None or lb is None or la.shape != lb.shape or lr is None or la.shape != lr.shape:
        return None, None
    apart = np.flatnonzero(~(np.abs(la - lb) <= SEPARATION * np.abs(lr)))
    if not apart.size:
        return None, None
    step = int(apart[0])
    if nudged.relu_flip is not None and nudged.relu_flip[0] <= step:
        k, layer, unit = nudged.relu_flip
        return step, f"ReLU at 0: layers.{layer} unit {unit} (a one-ulp nudge flips its branch at step {k})"
    h = nudged.horizon(SEPARATION)
    if step < h:  # float32 sensitivity would have parted the nudged copies too: a near-0 unit or Adam is no excuse
        # (the cnn's jax side once parted at step 39 of a 604-step horizon: optax's float32 bias correction)
        return step, f"before the horizon ({h}): the oracle's float32-nudged copies still agree to 1e-5 here"
    if nudged.nearest_zero is not None:
        window = nudged.nearest_zero[max(step - 3, 0):step + 1]
        closest, layer, unit = window[np.argmin(window[:, 0])]
        if closest < NEAR_ZERO:
            return step, f"ReLU at 0: layers.{int(layer)} unit {int(unit)} (its input is {closest:.0e} of the layer's largest)"
    fall = abs(lr[0] - lr[-1])
    if adam and abs(lr[step] - lr[-1]) <= NEAR_MINIMUM * fall:
        return step, "Adam near the minimum: tiny gradients over sqrt(nu) amplify rounding"
    return step, None


def defect_bound(mode: str) -> float:
    return tolerance.DEFECT_ULPS[mode].rel


def oracle_states(nudged: horizon.Nudged, checked: np.ndarray) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """The oracle's own states before and after each checked step, stacked: the check's sanity check."""
    before = [nudged.states[int(k)] for k in checked]
    after = [nudged.states[int(k) + 1] for k in checked]
    return ({n: np.stack([s[n] for s in before]) for n in before[0]},
            {n: np.stack([s[n] for s in after]) for n in after[0]})


def compare_stage(row: Row, setup: Setup) -> list[dict]:
    """All quantities x pairs for one stage: the rows of the report."""
    with np.errstate(over="ignore", invalid="ignore"):  # a diverging run overflows in every implementation
        return _compare_stage(row, setup)


def _compare_stage(row: Row, setup: Setup) -> list[dict]:
    all_sides = sides(setup)
    weights, x, y = row.problem(setup)
    every = defect.EVERY.get(row.name)
    checked = defect.sample(setup.steps, every)
    keep = sorted({0, 1, setup.steps} | set(checked.tolist()) | set((checked + 1).tolist()))
    nudged = horizon.run(row.reference, weights, x, y, setup.lr, setup.steps, keep=keep)
    ref_side = all_sides["reference"]
    ref_side.trajectory = {"losses": nudged.losses[0]} | nudged.final
    ref_side.trajectory["update"] = {k: np.asarray(v, dtype=np.float64) for k, v in nudged.states[1].items()}
    measured = {name: measure(row, side, setup) for name, side in all_sides.items()}
    defects, diverged = {}, {}
    for name in ("torch", "jax"):
        states = measured[name].pop("states")
        diverged[name] = divergence(measured[name]["trajectory"]["losses"], states, setup.dtype)
        defects[name] = defect.defects(row.reference, states, x, y, setup.lr, every, until=diverged[name],
                                       eps=tolerance.EPS[all_sides[name].mode])
    diverged["reference"] = divergence(nudged.losses[0], None, setup.dtype)
    finite = [k for k in checked if diverged["reference"] is None or k < diverged["reference"]]
    if finite:
        before, after = oracle_states(nudged, np.asarray(finite))
        defects["reference"] = defect.defects_of(row.reference, before, after, np.asarray(finite), x, y, setup.lr)
    else:
        defects["reference"] = defect.Defects(np.zeros(0, int), np.zeros(0), [], None)
    adam = "adam.step" in measured["reference"]["update"]
    results = []
    for quantity in QUANTITIES:
        ref = measured["reference"][quantity]
        for left, right in PAIRS:
            tol = tolerance.for_pair(all_sides[left].mode, all_sides[right].mode).rel
            a, b = measured[left][quantity], measured[right][quantity]
            row_ = {"stage": row.name, "regime": setup.regime, "lr": setup.lr, "steps": setup.steps, "quantity": quantity,
                    "pair": f"{left}-{right}", "tol": tol, "horizon": None}
            if quantity == "trajectory":
                bound = max(defect_bound(all_sides[left].mode), defect_bound(all_sides[right].mode))
                row_ |= judge_trajectory(a, b, ref, tol, setup.steps, nudged, (defects[left], defects[right]),
                                         (diverged["torch"], diverged["jax"], diverged["reference"]), bound,
                                         (left, right))
                if (left, right) == ("torch", "jax"):
                    row_["separates_at"], row_["separation_cause"] = separation(a, b, ref, nudged, adam)
            else:
                max_abs, rel = errors(a, b, ref)
                row_ |= {"max_abs": max_abs, "rel_err": rel, "passed": bool(rel <= tol), "first_bad_step": None}
            results.append(row_)
    return results


def check_all(stages: list[str], setup: Setup, regimes: tuple[str, ...] = REGIMES,
              train_steps: int | None = TRAIN_STEPS) -> list[dict]:
    """Every stage in every regime (the default check), or at the setup's own lr when regimes is empty."""
    from equivalence.lecture.stages import row

    if not regimes:
        return [r for name in stages for r in compare_stage(row(name), setup)]
    return [r for regime in regimes for name in stages
            for r in compare_stage(row(name), in_regime(setup, regime, name, train_steps))]
