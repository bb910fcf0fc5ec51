"""Step 3 for a CLI run, framework-neutral: chunks of steps, progress, checkpoints, divergence, metrics.

Each framework supplies a Backend (how to build, run a chunk, export); this file owns everything
both CLIs must do identically, so a run started by one resumes under the other.
"""

from __future__ import annotations

import json
import math
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from collections.abc import Callable
from typing import Any, Protocol

import numpy as np

from training import runfolder, validation
from training.config import RunConfig
from netdata.errors import InputError
from training.rundata import Data

CURVE_POINTS = 2000  # loss points kept in metrics.json, spread evenly over the run
CHUNK_ROWS = 1 << 22  # rows a chunk's stacked batches may hold: bounds memory for huge full batches
# An eager backend (torch) gains nothing from long chunks, and Ctrl-C waits for the chunk in flight: 1000 steps
# of the digits mlp took 93 s to stop on a busy 2-core machine. 50 steps keep that wait short.
EAGER_CHUNK = 50
EVAL_ROWS = 1 << 16  # initial/final loss are measured on at most this many leading rows
EXIT_DIVERGED = 3


class Backend(Protocol):
    framework: str
    device: str  # a human-readable device name for metrics.json

    def build(self, state: dict[str, np.ndarray]) -> Any: ...
    def prepare(self, trainer: Any, chunks: list[tuple[int, int]]) -> float: ...  # compile ahead: its seconds
    def run_chunk(self, trainer: Any, start: int, steps: int) -> tuple[Any, np.ndarray]: ...
    def export(self, trainer: Any) -> dict[str, np.ndarray]: ...
    def loss(self, trainer: Any, x: np.ndarray, y: np.ndarray) -> float: ...
    def predict(self, trainer: Any, x: np.ndarray) -> np.ndarray: ...
    def __enter__(self) -> Backend: ...
    def __exit__(self, *exc) -> None: ...


class Interrupted(Exception):
    """SIGINT or SIGTERM stopped the run; its state at `step` is saved, `metrics` hold the curve so far."""

    def __init__(self, step: int, metrics: dict):
        super().__init__(f"interrupted at step {step}")
        self.step, self.metrics = step, metrics


class Stop:
    """Catches SIGINT and SIGTERM while a run trains: the first asks the loop to stop after its chunk, a
    second raises KeyboardInterrupt at once (atomic writes leave every file old or new, never half)."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self, enabled: bool = True):
        # signal.signal works only in the main thread; elsewhere (or when off) nothing is caught.
        self.enabled = enabled and threading.current_thread() is threading.main_thread()
        self.asked: int | None = None
        self._old: dict = {}

    def __enter__(self) -> Stop:
        if self.enabled:
            self._old = {s: signal.signal(s, self._first) for s in self.SIGNALS}
        return self

    def __exit__(self, *exc) -> None:
        for s, handler in self._old.items():  # the caller's handlers come back, whatever happened
            signal.signal(s, handler)

    def _first(self, signum, frame) -> None:
        self.asked = signum
        for s in self.SIGNALS:
            signal.signal(s, self._again)

    @staticmethod
    def _again(signum, frame) -> None:
        raise KeyboardInterrupt


class Diverged(Exception):
    def __init__(self, step: int, saved_step: int):
        super().__init__(f"the loss became NaN or infinite at step {step}; the last finite weights (step "
                         f"{saved_step}) are saved; lower --lr and start again, or --resume with a lower --lr")
        self.step, self.saved_step = step, saved_step


@dataclass
class Run:
    config: RunConfig
    folder: Path
    start: int  # steps already done (0 for a new run)
    state: dict[str, np.ndarray]  # weights + optimizer state, canonical names
    curve: list[list[float]] = field(default_factory=list)  # [step, loss] pairs
    epochs: list[list[float]] = field(default_factory=list)  # [step ending the epoch, mean loss] pairs
    segments: list[dict] = field(default_factory=list)  # {"framework", "start", "end"}: who trained which steps
    class_names: list[str] | None = None  # a labelled file's class names, kept so a resume maps them alike
    resumed_from: str | None = None
    writes: bool = True  # False on every data-parallel process but process 0: it alone writes the folder
    timings: dict[str, float] = field(default_factory=dict)  # seconds by kind (training.timings), for metrics.json
    watch: validation.Watch | None = None  # early stopping's state; None: no validation split
    best: dict[str, np.ndarray] | None = None  # the weights of watch.best_step: the run's weights
    val_curve: list[list[float]] = field(default_factory=list)  # [step, loss, accuracy] of each evaluation


def chunk_length(cfg: RunConfig, batch_size: int, compiles: bool = True) -> int:
    """Steps per chunk: --chunk, dividing --save-every, and small enough that its batches fit memory
    (eager backends: at most EAGER_CHUNK, so that an interrupt is answered soon)."""
    # Chunks end at every checkpoint and every validation evaluation.
    every = math.gcd(cfg.save_every or 0, cfg.eval_every if cfg.val_fraction else 0)
    length = math.gcd(cfg.chunk, every) if every else cfg.chunk
    if not compiles:
        length = (max(d for d in range(1, min(length, EAGER_CHUNK) + 1) if length % d == 0)  # still divides saves
                  if every else min(length, EAGER_CHUNK))
    return max(1, min(length, CHUNK_ROWS // batch_size))


def plan(start: int, total: int, chunk: int) -> list[tuple[int, int]]:
    """(first step, length) of each chunk: equal lengths, so XLA compiles at most three programs. A start off
    the grid (a run resumed from its last step) first steps up to a multiple of `chunk`, where evaluations fall."""
    edges = [start, *range((start // chunk + 1) * chunk, total, chunk), total]
    return [(a, b - a) for a, b in zip(edges, edges[1:]) if b > a]


def save_state(run: Run, state: dict[str, np.ndarray], step: int, framework: str,
               watch: validation.Watch | None = None, best: dict[str, np.ndarray] | None = None) -> None:
    """Checkpoint: state first, then weights, then config; each file complete or untouched.
    `watch` and `best`: early stopping's state as of `step` (default: the run's own)."""
    watch, best = (run.watch, run.best) if watch is None else (watch, best)
    if not run.writes:
        return
    t0 = time.perf_counter()
    # One metadata key: safetensors writes several in hash order, which would make identical runs
    # produce files that differ byte for byte.
    record = {"framework": framework, "stage": run.config.stage, "step": step}
    if watch is not None:  # early stopping's counters; its best weights go in as best.* tensors, in the same file
        record["validation"] = validation.to_meta(watch)
    meta = {"run": json.dumps(record, sort_keys=True)}
    saved = state | validation.pack(best if watch is not None else None) | {"step": np.asarray(step, np.int64)}
    runfolder.write_safetensors(run.folder / runfolder.STATE, saved, meta)
    # With validation the run's weights are the best ones so far (Keras' restore_best_weights).
    weights = validation.weights_of(best if watch is not None and best else state)
    runfolder.write_safetensors(run.folder / runfolder.WEIGHTS, weights, meta)
    runfolder.write_json(run.folder / runfolder.CONFIG, run.config.to_json())
    run.timings["writes_s"] = run.timings.get("writes_s", 0.0) + time.perf_counter() - t0


def train(run: Run, data: Data, backend: Backend, progress=None, stop: Stop | None = None,
          begin: Callable[[], None] | None = None) -> tuple[dict, object]:
    """Train run.config.steps in chunks; returns (metrics, the trained trainer). Raises Diverged after saving the last good state,
    Interrupted after saving the state of the last finished chunk when `stop` caught a signal.
    `begin` runs once everything is checked and compiled, just before the first step (it makes the folder)."""
    cfg = run.config
    stride = max(1, math.ceil(cfg.steps / CURVE_POINTS))
    batch = cfg.batch_size or data.n
    epochs = _EpochLoss(run, data.n // batch if batch < data.n else 0, cfg.steps)
    chunks = plan(run.start, cfg.steps, chunk_length(cfg, batch, getattr(backend, "compiles", False)))
    run.segments.append({"framework": backend.framework, "start": run.start, "end": run.start})
    trainer = backend.build(run.state)
    compile_s = backend.prepare(trainer, chunks)  # each program once, before the first step; no step runs twice
    eval_x, eval_y = data.x[:EVAL_ROWS], data.y[:EVAL_ROWS]
    initial_loss = backend.loss(trainer, eval_x, eval_y)
    if data.x_val is not None and run.watch is None:
        run.watch = validation.Watch()
    if run.watch is not None and validation.exhausted(run.watch, cfg.patience):
        raise InputError(validation.stopped_line(run.folder, run.watch, cfg.patience))
    good, good_step = run.state, run.start
    good_watch, good_best = run.watch, run.best  # early stopping's state as of good_step
    stopped_at = None
    next_save = _next_save(cfg, run.start)
    train_s = 0.0
    if begin is not None:
        begin()
    for first, steps in chunks:
        if stop is not None and stop.asked:
            state = good if good_step == first else backend.export(trainer)
            _interrupt(run, state, first, backend.framework, batch < data.n)
        t0 = time.perf_counter()
        trainer, losses = backend.run_chunk(trainer, first, steps)
        train_s += time.perf_counter() - t0
        bad = np.flatnonzero(~np.isfinite(losses))
        if bad.size:
            good, good_step = _last_finite(backend, cfg, good, good_step, first + int(bad[0]))
            save_state(run, good, good_step, backend.framework, good_watch, good_best)
            raise Diverged(first + int(bad[0]), good_step)
        run.curve += [[first + i, float(losses[i])] for i in range(steps) if (first + i) % stride == 0]
        epochs.add(first, losses)
        done = first + steps
        run.segments[-1]["end"] = done
        if run.watch is not None and (done % cfg.eval_every == 0 or done == cfg.steps):
            stopped_at = done if validation.evaluate(run, data, backend, trainer, done) else None
        if done >= next_save or done == cfg.steps or stopped_at:
            good, good_step = backend.export(trainer), done
            good_watch, good_best = run.watch, run.best
            save_state(run, good, done, backend.framework)
            next_save = _next_save(cfg, done)
        if progress is not None:
            progress(done, cfg.steps, float(losses[-1]), steps / max(time.perf_counter() - t0, 1e-9),
                     **({"val": tuple(run.val_curve[-1][1:])} if run.val_curve else {}))
        if stopped_at:
            break
    if run.best is not None:  # the run's weights are the best ones: the test step and final_loss use them
        trainer = backend.build(run.best)
    trained = (stopped_at or cfg.steps) - run.start
    metrics = {
        "framework": backend.framework, "stage": cfg.stage, "steps": cfg.steps, "steps_this_run": trained,
        "resumed_from_step": run.start if run.resumed_from else None,
        "initial_loss": initial_loss, "final_loss": backend.loss(trainer, eval_x, eval_y),
        "compile_s": compile_s, "train_s": train_s,
        "steps_per_s": trained / train_s if train_s > 0 else None,
        "device": backend.device, "dtype": cfg.dtype, "precision": cfg.precision, "lr": cfg.lr,
        "batch_size": batch, "data": cfg.data, "rows": data.n,
    } | curves(run, batch < data.n)
    if run.watch is not None:
        metrics["validation"] = validation.summary(run, len(data.y_val), stopped_at)
    return metrics, trainer


def curves(run: Run, minibatch: bool) -> dict:
    """The parts of metrics.json a resumed run carries on: loss points, epoch means, who trained what."""
    val = {"val_curve": {"step": [int(p[0]) for p in run.val_curve], "loss": [p[1] for p in run.val_curve],
                         "accuracy": [p[2] for p in run.val_curve]}} if run.watch is not None else {}
    return val | {"minibatch": minibatch, "loss_curve": {"step": [int(s) for s, _ in run.curve], "loss": [v for _, v in run.curve]},
            "epoch_loss": {"step": [int(s) for s, _ in run.epochs], "loss": [v for _, v in run.epochs]},
            "segments": [dict(seg) for seg in run.segments if seg["end"] > seg["start"]]}


def carry_over(run: Run, old: dict) -> None:
    """Take the curves of a resumed run's metrics.json, up to the step its state holds."""
    step = run.start
    curve, epochs = old.get("loss_curve", {}), old.get("epoch_loss", {})
    run.curve = [[s, v] for s, v in zip(curve.get("step", []), curve.get("loss", [])) if s < step]
    run.epochs = [[s, v] for s, v in zip(epochs.get("step", []), epochs.get("loss", [])) if s <= step]
    val = old.get("val_curve", {})
    run.val_curve = [[s, v, a] for s, v, a in zip(val.get("step", []), val.get("loss", []), val.get("accuracy", []))
                     if s <= step]
    segments = old.get("segments") or ([{"framework": old["framework"], "start": 0, "end": step}]
                                       if old.get("framework") else [])
    run.segments = [seg | {"end": min(seg["end"], step)} for seg in segments if seg["start"] < step]


def _interrupt(run: Run, state: dict[str, np.ndarray], step: int, framework: str, minibatch: bool):
    save_state(run, state, step, framework)
    raise Interrupted(step, {"framework": framework, "stage": run.config.stage, "steps": run.config.steps,
                             "interrupted_at_step": step} | curves(run, minibatch))


class _EpochLoss:
    """The mean loss of each whole epoch (every `stride`-th epoch, so metrics.json stays small)."""

    def __init__(self, run: Run, per_epoch: int, total: int):
        self.run, self.per_epoch = run, per_epoch
        self.stride = max(1, math.ceil(total / max(per_epoch, 1) / CURVE_POINTS))
        self.sums: dict[int, list[float]] = {}  # epoch -> [sum of losses, steps seen] in this process
        self.start = run.start  # an epoch begun before the resume misses steps: it is never reported

    def add(self, first: int, losses: np.ndarray) -> None:
        if not self.per_epoch:
            return
        ids = (first + np.arange(len(losses))) // self.per_epoch
        sums = np.bincount(ids - ids[0], weights=losses.astype(np.float64))
        counts = np.bincount(ids - ids[0])
        for e, total, n in zip(range(int(ids[0]), int(ids[-1]) + 1), sums, counts):
            acc = self.sums.setdefault(e, [0.0, 0])
            acc[0] += float(total)
            acc[1] += int(n)
            if acc[1] == self.per_epoch:
                del self.sums[e]
                if e * self.per_epoch >= self.start and e % self.stride == 0:
                    self.run.epochs.append([(e + 1) * self.per_epoch, acc[0] / self.per_epoch])


def _last_finite(backend: Backend, cfg: RunConfig, good: dict, good_step: int, bad_step: int):
    """--check-numerics: replay from the last good state up to the step whose loss went bad."""
    if not cfg.check_numerics or bad_step == good_step:
        return good, good_step
    trainer, _ = backend.run_chunk(backend.build(good), good_step, bad_step - good_step)
    state = backend.export(trainer)
    if all(np.all(np.isfinite(v)) for v in state.values()):
        return state, bad_step
    return good, good_step  # the weights themselves overflowed: the chunk start is the last finite point


def _next_save(cfg: RunConfig, done: int) -> int:
    every = cfg.save_every
    return (done // every + 1) * every if every else cfg.steps


def check_resumable(run: Run, total: int) -> None:
    if run.start >= total:
        raise InputError(f"the run in {run.folder} is already at step {run.start}; ask for more with --steps "
                         f"(the run's total, e.g. --steps {run.start + 1000})")
