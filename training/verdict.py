"""--compare's verdict: is the other framework's run as close as float arithmetic allows, or a surprise?

Two frameworks round differently, and a training run can amplify rounding (chaos, past the drift horizon).
So the yardstick is measured, not fixed: the same run of our own framework, started from weights nudged by
one ulp, shows how far rounding alone carries the weights over these steps.
"""

from __future__ import annotations

import numpy as np

NUDGE_MARGIN = 10  # another framework rounds at every step, not once at the start: allow a decade more
FLOOR_ULPS = 100  # where nudges shrink (a contracting run), rounding still leaves ~100 ulps between builds


def nudged(state: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Every float value moved by one ulp (towards +inf): the smallest change its dtype can hold."""
    return {k: np.nextafter(v, np.inf, dtype=v.dtype) if v.dtype.kind == "f" else v for k, v in state.items()}


def nudge_drift(run, backend, data, ours: dict[str, np.ndarray]) -> dict:
    """Train run's steps again from `run.state` nudged by one ulp: how far that moves weights and predictions."""
    from training import session

    cfg = run.config
    trainer = backend.build(nudged(run.state))
    length = session.chunk_length(cfg, cfg.batch_size or data.n, getattr(backend, "compiles", False))
    # With validation the run's weights are those of its best step: replay up to there.
    end = run.watch.best_step if run.best is not None and run.watch.best_step > run.start else cfg.steps
    for first, steps in session.plan(run.start, end, length):
        trainer, _ = backend.run_chunk(trainer, first, steps)
    nudged_run = backend.export(trainer)
    drift = {"nudge_drift": rel_err({k: nudged_run[k] for k in ours}, ours)}  # ours may be weights alone (the best)
    if data.x_test is not None:
        pred = np.argmax(backend.predict(trainer, data.x_test), axis=1)
        ours_pred = np.argmax(backend.predict(backend.build(ours), data.x_test), axis=1)
        drift["nudge_predictions_differ"] = int(np.sum(pred != ours_pred))
    return drift


def rel_err(ours: dict[str, np.ndarray], theirs: dict[str, np.ndarray]) -> float:
    """The largest relative difference of any weight array, measured in float64."""
    return max(float(np.linalg.norm(ours[k].astype(np.float64) - theirs[k].astype(np.float64)) /
                     max(np.linalg.norm(theirs[k].astype(np.float64)), 1e-300)) for k in ours)


def judge(rel: float, drift: float, dtype: str) -> dict:
    """The largest weights' difference still explained by rounding, given a 1-ulp nudge's drift, and
    whether `rel` lies beyond it."""
    most = max(NUDGE_MARGIN * drift, FLOOR_ULPS * float(np.finfo(dtype).eps))
    return {"expected_max": most, "surprise": rel > most}


def line(c: dict, dtype: str, other: str) -> str:
    """The one line --compare prints from its metrics["compare"]."""
    differ, total = c.get("test_predictions_differ"), c.get("test_predictions")
    preds = ("no test set" if differ is None else f"all {total} test predictions agree" if differ == 0
             else f"{differ} of {total} test predictions differ")
    flips = c.get("nudge_predictions_differ")
    why = (f"a 1-ulp nudge of the start drifts {c['nudge_drift']:.2e} over the same steps"
           + (f" and changes {flips} test predictions" if flips is not None else "")
           + f", so up to {c['expected_max']:.2e} is expected")
    if c["surprise"]:
        return (f"compare: SURPRISE: weights differ from {other}'s by {c['weights_rel_err']:.2e} (relative); {preds}; "
                f"beyond the {dtype} expectation ({why}): look for a real difference between the frameworks")
    return (f"compare: weights differ from {other}'s by {c['weights_rel_err']:.2e} (relative); {preds}; within "
            f"the {dtype} expectation ({why})")
