"""Validation and early stopping, framework-neutral: the validation split, its score, and the best-so-far state.

Both frameworks score their own logits with the same NumPy code (float64 cross-entropy), so the numbers that
decide when a run stops are computed alike; the state that decides it is one NamedTuple, stored in
state.safetensors (counters in the metadata, best weights as `best.<name>` tensors), so a resumed run, in
either framework, stops where the uninterrupted one would.
"""

from __future__ import annotations

import json
import math
from typing import NamedTuple

import numpy as np

from netdata import datasets
from netdata.errors import InputError

BEST = "best."  # prefix of the best-so-far weights inside state.safetensors: one file, one atomic rename


class Watch(NamedTuple):
    """Early stopping's state after the evaluations so far."""

    best_step: int = -1  # -1: nothing evaluated yet
    best_loss: float = math.inf
    best_accuracy: float = math.nan
    since: int = 0  # evaluations since the best one: the patience counter
    evaluations: int = 0


def split(labels: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Sorted row indices (fit, validation) of the training rows: stratified, from the shared seed streams."""
    labels = np.asarray(labels)
    if fraction == 0:
        return np.arange(len(labels)), np.arange(0)
    counts = np.bincount(labels)
    thin = [c for c in range(len(counts)) if 0 < counts[c] < 2]
    if thin:
        raise InputError(f"class {thin[0]} has {counts[thin[0]]} training row, too few to put one in the validation "
                         f"part too; add rows or turn validation off with --val-fraction 0")
    return datasets.stratified_split(labels, fraction, seed, stream=datasets.VALIDATION_STREAM)


def score(logits: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """(mean cross-entropy, accuracy) of logits (N, C) against integer labels (N,), in float64."""
    z = np.asarray(logits, dtype=np.float64)
    labels = np.asarray(labels)
    z = z - z.max(axis=1, keepdims=True)  # log-softmax without overflow
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    loss = float(-np.mean(logp[np.arange(len(labels)), labels]))
    return loss, float(np.mean(np.argmax(z, axis=1) == labels))


def observe(watch: Watch, step: int, loss: float, accuracy: float) -> tuple[Watch, bool]:
    """The state after one evaluation at `step`, and whether it is the new best (a strictly lower loss)."""
    if math.isfinite(loss) and loss < watch.best_loss:
        return Watch(step, loss, accuracy, 0, watch.evaluations + 1), True
    return watch._replace(since=watch.since + 1, evaluations=watch.evaluations + 1), False


def exhausted(watch: Watch, patience: int) -> bool:
    """True once `patience` evaluations in a row brought no new best (patience 0: never)."""
    return patience > 0 and watch.since >= patience


def to_meta(watch: Watch) -> dict:
    return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in watch._asdict().items()}


def from_meta(meta: dict) -> Watch:
    """The Watch a state file's metadata holds; JSON null stands for the infinite/NaN start values."""
    fields = {k: meta.get(k) for k in Watch._fields}
    if any(fields[k] is None for k in ("best_step", "since", "evaluations")):
        raise InputError("state.safetensors has a damaged validation record; restore the run folder or train again")
    return Watch(int(fields["best_step"]), math.inf if fields["best_loss"] is None else float(fields["best_loss"]),
                 math.nan if fields["best_accuracy"] is None else float(fields["best_accuracy"]),
                 int(fields["since"]), int(fields["evaluations"]))


def pack(best: dict[str, np.ndarray] | None) -> dict[str, np.ndarray]:
    return {BEST + k: v for k, v in (best or {}).items()}


def unpack(state: dict[str, np.ndarray]) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray] | None]:
    """(the state without the best weights, the best weights or None)."""
    best = {k[len(BEST):]: v for k, v in state.items() if k.startswith(BEST)}
    return {k: v for k, v in state.items() if not k.startswith(BEST)}, best or None


def weights_of(state: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The model's part of an exported state: no optimizer moments, no step."""
    return {k: v for k, v in state.items() if not k.startswith(("adam.", BEST))}


def stopped_line(folder, watch: Watch, patience: int) -> str:
    return (f"the run in {folder} stopped early: its validation loss has not improved for {watch.since} evaluations "
            f"since step {watch.best_step}; to train on, resume with --patience above {watch.since} "
            f"(or --patience 0)")


def evaluate(run, data, backend, trainer, step: int) -> bool:
    """Score the validation rows at `step` (a session.Run, its Data and Backend); keep the weights when they are
    the best so far. True: the run stops here."""
    loss, accuracy = score(backend.predict(trainer, data.x_val), data.y_val)
    run.val_curve.append([step, loss, accuracy])
    run.watch, improved = observe(run.watch, step, loss, accuracy)
    if improved:
        run.best = weights_of(backend.export(trainer))
    return exhausted(run.watch, run.config.patience)


def resume(run, meta: dict[str, str]) -> None:
    """Take early stopping's state out of a resumed run's state.safetensors (best.* tensors, metadata)."""
    run.state, run.best = unpack(run.state)
    try:
        record = json.loads(meta.get("run", "{}"))
    except json.JSONDecodeError:
        record = {}
    if isinstance(record, dict) and isinstance(record.get("validation"), dict):
        run.watch = from_meta(record["validation"])


def summary(run, rows: int, stopped_at: int | None) -> dict:
    """metrics.json's "validation": the settings, where the run stopped, and the best evaluation."""
    cfg = run.config
    return {"fraction": cfg.val_fraction, "rows": rows, "eval_every": cfg.eval_every, "patience": cfg.patience,
            "weight_decay": cfg.weight_decay, "stopped_at_step": stopped_at} | to_meta(run.watch)
