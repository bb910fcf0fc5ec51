"""Predictions, gradients, one update and a whole training run: each side measured, each pair compared."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from equivalence import tolerance
from equivalence.stages import Row, Setup

QUANTITIES = ("predictions", "gradients", "update", "trajectory")
PAIRS = (("torch", "jax"), ("torch", "reference"), ("jax", "reference"))
Arrays = dict[str, np.ndarray]
# A trajectory is judged on every step's loss and the final weights. Optimizer state is judged
# after one update only: over thousands of float32 steps Adam's second moment carries its own
# rounding, amplified ~1/(1 - beta2) = 1000x, in every implementation alike.
OPTIMIZER_STATE = ("adam.",)


@dataclass
class Side:
    """How to run one implementation: its context, and conversions NumPy <-> its arrays."""

    name: str
    context: Callable[[], contextlib.AbstractContextManager]
    to_array: Callable[[np.ndarray], Any]
    to_numpy: Callable[[Any], np.ndarray]
    device: Any
    mode: str  # key of tolerance.TOLERANCES


def sides(setup: Setup) -> dict[str, Side]:
    import jaxnet.device as jd  # imported here: only `check` needs both frameworks at once
    import torchnet.device as td

    tdev = td.resolve(setup.device)
    jd.resolve(setup.device)  # fail before any work when the device is missing

    def torch_context():
        td.pin_precision()
        return contextlib.nullcontext()

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


def compare_stage(row: Row, setup: Setup) -> list[dict]:
    """All quantities x pairs for one stage: the rows of the report."""
    all_sides = sides(setup)
    measured = {name: measure(row, side, setup) for name, side in all_sides.items()}
    results = []
    for quantity in QUANTITIES:
        ref = measured["reference"][quantity]
        for left, right in PAIRS:
            tol = tolerance.for_pair(all_sides[left].mode, all_sides[right].mode).rel
            a, b = measured[left][quantity], measured[right][quantity]
            max_abs, rel = errors(a, b, ref)
            bad = first_bad_step(a, b, ref, tol, setup.steps, rel) if quantity == "trajectory" else None
            results.append({
                "stage": row.name, "quantity": quantity, "pair": f"{left}-{right}",
                "max_abs": max_abs, "rel_err": rel, "tol": tol, "passed": bool(rel <= tol),
                "first_bad_step": bad,
            })
    return results
