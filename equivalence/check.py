"""Predictions, gradients, one update and a whole training run: each side measured, each pair compared.

A training run is held to the tolerance step by step up to its chaos horizon (equivalence.horizon),
and past it to the spread of the nudged oracle runs.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from equivalence import horizon, tolerance
from equivalence.stages import REGIMES, TRAIN_STEPS, Row, Setup, in_regime

QUANTITIES = ("predictions", "gradients", "update", "trajectory")
PAIRS = (("torch", "jax"), ("torch", "reference"), ("jax", "reference"))
Arrays = dict[str, np.ndarray]
# A trajectory is judged on every step's loss and the final weights. Optimizer state is judged
# after one update only: over thousands of float32 steps Adam's second moment carries its own
# rounding, amplified ~1/(1 - beta2) = 1000x, in every implementation alike.
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
    """Everything one implementation computes from the shared start, as float64 NumPy arrays."""
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
        trainer, _ = stage.train(trainer, side.to_array(x[None]), side.to_array(y[None]))
        out["update"] = f64(stage.export(trainer))
        if side.trajectory is not None:
            return out | {"trajectory": side.trajectory}
        trainer = stage.build(weights, setup.lr, side.device)
        xs = side.to_array(np.broadcast_to(x, (setup.steps, *x.shape)))  # full batch every step
        ys = side.to_array(np.broadcast_to(y, (setup.steps, *y.shape)))
        trainer, losses = stage.train(trainer, xs, ys)
        weights_out = {k: v for k, v in stage.export(trainer).items() if not k.startswith(OPTIMIZER_STATE)}
        out["trajectory"] = f64({"losses": losses} | weights_out)
    return out


def errors(a: Arrays, b: Arrays, ref: Arrays) -> tuple[float, float]:
    """(max |a - b|, max over arrays of ||a - b|| / ||ref||); a missing or misshapen array is infinite."""
    if a.keys() != b.keys() or any(a[k].shape != b[k].shape for k in a):
        return float("inf"), float("inf")
    max_abs = max(float(np.max(np.abs(a[k] - b[k]), initial=0.0)) for k in a)
    rel = 0.0
    for k in a:
        diff, scale = np.linalg.norm(a[k] - b[k]), np.linalg.norm(ref[k])
        rel = max(rel, float(diff / scale) if scale > 0 else float(diff))
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


def final_loss(row: Row, trajectory: Arrays, x: np.ndarray, y: np.ndarray, lr: float) -> float:
    """The oracle's loss at one side's final weights (NaN when they are not weights it can load)."""
    try:
        t = row.reference.build({k: v for k, v in trajectory.items() if k != "losses"}, lr)
        return float(row.reference.loss_and_grads(t, x, y)[0])
    except (KeyError, ValueError, IndexError):
        return float("nan")


def judge_trajectory(a: Arrays, b: Arrays, ref: Arrays, tol: float, steps: int, nudged: horizon.Nudged,
                     finals: tuple[float, float]) -> dict:
    """Within tolerance before the horizon (first bad step named); within the nudged spread after it."""
    h = nudged.horizon(tol)
    out = {"horizon": h, "growth_per_1000": nudged.growth(tol), "outside_spread_step": None,
           "final_loss_in_spread": None}
    max_abs, rel = errors(a, b, ref)
    if h >= steps or not np.isfinite(rel):  # the whole run is predictable, or the shapes do not even match
        return out | {"max_abs": max_abs, "rel_err": rel, "passed": bool(rel <= tol),
                      "first_bad_step": first_bad_step(a, b, ref, tol, steps, rel)}
    cut = [{"losses": d["losses"][:h]} for d in (a, b, ref)]
    max_abs, rel = errors(*cut)
    scale = float(np.max(np.abs(nudged.losses[0])))
    outside = [horizon.outside(d["losses"], nudged.losses, tol, scale)[h:] for d in (a, b)]
    first_out = [int(np.flatnonzero(o)[0]) + h for o in outside if o.any()]
    final_runs = nudged.final_losses[:, None]
    in_spread = not any(horizon.outside(np.asarray([f]), final_runs, tol, scale, 0).any() for f in finals)
    return out | {
        "max_abs": max_abs, "rel_err": rel, "first_bad_step": first_bad_step(*cut, tol, h, rel),
        "outside_spread_step": min(first_out, default=None), "final_loss_in_spread": in_spread,
        "passed": bool(rel <= tol and not first_out and in_spread),
    }


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


def compare_stage(row: Row, setup: Setup) -> list[dict]:
    """All quantities x pairs for one stage: the rows of the report."""
    all_sides = sides(setup)
    weights, x, y = row.problem(setup)
    nudged = horizon.run(row.reference, weights, x, y, setup.lr, setup.steps)
    all_sides["reference"].trajectory = {"losses": nudged.losses[0]} | nudged.final
    measured = {name: measure(row, side, setup) for name, side in all_sides.items()}
    finals = {name: final_loss(row, m["trajectory"], x, y, setup.lr) for name, m in measured.items()}
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
                row_ |= judge_trajectory(a, b, ref, tol, setup.steps, nudged, (finals[left], finals[right]))
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
    from equivalence.stages import row

    if not regimes:
        return [r for name in stages for r in compare_stage(row(name), setup)]
    return [r for regime in regimes for name in stages
            for r in compare_stage(row(name), in_regime(setup, regime, name, train_steps))]
