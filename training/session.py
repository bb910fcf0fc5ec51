"""Step 3 for a CLI run, framework-neutral: chunks of steps, progress, checkpoints, divergence, metrics.

Each framework supplies a Backend (how to build, run a chunk, export); this file owns everything
both CLIs must do identically, so a run started by one resumes under the other.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from training import runfolder
from training.config import RunConfig
from netdata.errors import InputError
from training.rundata import Data

CURVE_POINTS = 2000  # loss points kept in metrics.json, spread evenly over the run
CHUNK_ROWS = 1 << 22  # rows a chunk's stacked batches may hold: bounds memory for huge full batches
EVAL_ROWS = 1 << 16  # initial/final loss are measured on at most this many leading rows
EXIT_DIVERGED = 3


class Backend(Protocol):
    framework: str
    device: str  # a human-readable device name for metrics.json

    def build(self, state: dict[str, np.ndarray]) -> Any: ...
    def run_chunk(self, trainer: Any, start: int, steps: int) -> tuple[Any, np.ndarray]: ...
    def export(self, trainer: Any) -> dict[str, np.ndarray]: ...
    def loss(self, trainer: Any, x: np.ndarray, y: np.ndarray) -> float: ...
    def predict(self, trainer: Any, x: np.ndarray) -> np.ndarray: ...
    def __enter__(self) -> Backend: ...
    def __exit__(self, *exc) -> None: ...


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
    resumed_from: str | None = None
    writes: bool = True  # False on every data-parallel process but process 0: it alone writes the folder


def chunk_length(cfg: RunConfig, batch_size: int) -> int:
    """Steps per chunk: --chunk, dividing --save-every, and small enough that its batches fit memory."""
    length = math.gcd(cfg.chunk, cfg.save_every) if cfg.save_every else cfg.chunk
    return max(1, min(length, CHUNK_ROWS // batch_size))


def plan(start: int, total: int, chunk: int) -> list[tuple[int, int]]:
    """(first step, length) of each chunk: equal lengths, so XLA compiles at most two programs."""
    return [(s, min(chunk, total - s)) for s in range(start, total, chunk)]


def save_state(run: Run, state: dict[str, np.ndarray], step: int, framework: str) -> None:
    """Checkpoint: state first, then weights, then config; each file complete or untouched."""
    if not run.writes:
        return
    # One metadata key: safetensors writes several in hash order, which would make identical runs
    # produce files that differ byte for byte.
    meta = {"run": json.dumps({"framework": framework, "stage": run.config.stage, "step": step}, sort_keys=True)}
    runfolder.write_safetensors(run.folder / runfolder.STATE, state | {"step": np.asarray(step, np.int64)}, meta)
    weights = {k: v for k, v in state.items() if not k.startswith("adam.")}
    runfolder.write_safetensors(run.folder / runfolder.WEIGHTS, weights, meta)
    runfolder.write_json(run.folder / runfolder.CONFIG, run.config.to_json())


def train(run: Run, data: Data, backend: Backend, progress=None) -> tuple[dict, object]:
    """Train run.config.steps in chunks; returns metrics. Raises Diverged after saving the last good state."""
    cfg = run.config
    stride = max(1, math.ceil(cfg.steps / CURVE_POINTS))
    chunks = plan(run.start, cfg.steps, chunk_length(cfg, cfg.batch_size or data.n))
    compile_s = _warm_up(backend, run.state, chunks)
    trainer = backend.build(run.state)
    eval_x, eval_y = data.x[:EVAL_ROWS], data.y[:EVAL_ROWS]
    initial_loss = backend.loss(trainer, eval_x, eval_y)
    good, good_step = run.state, run.start
    next_save = _next_save(cfg, run.start)
    train_s = 0.0
    for first, steps in chunks:
        t0 = time.perf_counter()
        trainer, losses = backend.run_chunk(trainer, first, steps)
        train_s += time.perf_counter() - t0
        bad = np.flatnonzero(~np.isfinite(losses))
        if bad.size:
            good, good_step = _last_finite(backend, cfg, good, good_step, first + int(bad[0]))
            save_state(run, good, good_step, backend.framework)
            raise Diverged(first + int(bad[0]), good_step)
        run.curve += [[first + i, float(losses[i])] for i in range(steps) if (first + i) % stride == 0]
        done = first + steps
        if done >= next_save or done == cfg.steps:
            good, good_step = backend.export(trainer), done
            save_state(run, good, done, backend.framework)
            next_save = _next_save(cfg, done)
        if progress is not None:
            progress(done, cfg.steps, float(losses[-1]), steps / max(time.perf_counter() - t0, 1e-9))
    trained = cfg.steps - run.start
    metrics = {
        "framework": backend.framework, "stage": cfg.stage, "steps": cfg.steps, "steps_this_run": trained,
        "resumed_from_step": run.start if run.resumed_from else None,
        "initial_loss": initial_loss, "final_loss": backend.loss(trainer, eval_x, eval_y),
        "compile_s": compile_s, "train_s": train_s,
        "steps_per_s": trained / train_s if train_s > 0 else None,
        "device": backend.device, "dtype": cfg.dtype, "precision": cfg.precision, "lr": cfg.lr,
        "batch_size": cfg.batch_size or data.n, "data": cfg.data, "rows": data.n,
        "loss_curve": {"step": [int(s) for s, _ in run.curve], "loss": [v for _, v in run.curve]},
    }
    return metrics, trainer


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


def _warm_up(backend: Backend, state: dict[str, np.ndarray], chunks: list[tuple[int, int]]) -> float:
    """Compile every chunk length on a throwaway copy; compile time = warm-up time minus run time."""
    if not getattr(backend, "compiles", False) or not chunks:
        return 0.0
    compile_s = 0.0
    for first, steps in {length: (first, length) for first, length in chunks}.values():
        scratch = backend.build(state)
        t0 = time.perf_counter()
        scratch, _ = backend.run_chunk(scratch, first, steps)
        cold = time.perf_counter() - t0
        t0 = time.perf_counter()
        backend.run_chunk(scratch, first, steps)
        compile_s += max(cold - (time.perf_counter() - t0), 0.0)
    return compile_s


def check_resumable(run: Run, total: int) -> None:
    if run.start >= total:
        raise InputError(f"the run in {run.folder} is already at step {run.start}; ask for more with --steps "
                         f"(the run's total, e.g. --steps {run.start + 1000})")
