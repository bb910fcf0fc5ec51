"""A run, start to metrics.json, for either framework: `train(config, out)` in-process, or the CLIs' body."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from netdata.errors import InputError
from training import openrun, rundata, runfolder, session, shards, summary, teststep, threads, timings, verdict
from training.config import RunConfig


def train(config: RunConfig, out: str | Path, framework: str = "jax", cache: bool = True) -> dict:
    """Train `config` as `jaxnet-train` / `torchnet-train` would, in this process, writing the run folder `out`
    (which must not hold a run yet); returns metrics.json's contents. Build the config with config.for_stage."""
    from training import stages  # the one place a framework's modules are loaded by name

    folder = Path(out)
    if (folder / runfolder.STATE).exists():
        raise InputError(f"{folder} already holds a run; resume it with the CLI's --resume or choose a new folder")
    run = session.Run(config, folder, 0, {}, writes=True)
    metrics, _ = execute(run, framework, stages.backend(framework), shards.Launch(), quiet=True, cache=cache)
    return metrics


def execute(run: session.Run, framework: str, make_backend: Callable, launch: shards.Launch, quiet: bool,
            cache: bool = True, compare: bool = False, started: float | None = None) -> tuple[dict, session.Run]:
    """Train an opened run to its end; `started`: the perf_counter() of the process's start (imports_s, total_s)."""
    now = time.perf_counter()
    started = now if started is None else started
    run.timings.setdefault("imports_s", now - started)
    cfg = run.config
    data = rundata.load(cfg, run.class_names)
    if data.class_names is not None and run.class_names is None:
        run.class_names = list(data.class_names)
    if not run.state:
        run.state = rundata.initial_weights(cfg, data)
    with make_backend(cfg, data, launch, cache=cache) as backend:
        # Ranks of a multi-process run must stop at one chunk together; there a signal still ends at once.
        with session.Stop(enabled=launch.num_processes == 1) as stop:
            progress = None if quiet or not run.writes else summary.ProgressBar(framework, cfg.stage)
            try:
                # Its forward passes count as eval_s, its build as build_s; then matplotlib loads beside XLA.
                meanwhile = run.writes and getattr(backend, "compiles", False)
                timed = timings.Timed(backend, run.timings, threads.load_matplotlib_meanwhile if meanwhile else None)
                metrics, trainer = session.train(run, data, timed, progress and progress.update, stop,
                                                 lambda: openrun.make_folder(run, framework))
            except session.Interrupted as err:
                err.metrics["run_folder"] = str(run.folder)
                if run.writes:  # the curves, for the resumed run's plot; no figure: matplotlib would delay the exit
                    runfolder.write_json(run.folder / runfolder.METRICS, err.metrics)
                raise
            finally:
                if progress:
                    progress.close()
            if data.x_test is not None and run.writes:
                metrics |= teststep.test_step(timed, trainer, data, run.folder, run.timings)
            if compare and run.writes:  # the yardstick of --compare's verdict
                ours = run.best if run.best is not None else backend.export(trainer)  # the run's weights
                drift = verdict.nudge_drift(run, backend, data, ours)
            # Counted to here: what compiles after this (--compare's nudge) is not part of the run.
            metrics |= {"compilations": backend.compilations, "cache_hits": backend.cache_hits}
    if compare and run.writes:
        metrics["nudge"] = drift
    metrics["run_folder"] = str(run.folder)
    if run.writes:
        write_metrics(run, metrics, framework, started)
    return metrics, run




def write_metrics(run: session.Run, metrics: dict, framework: str, started: float | None = None) -> None:
    """loss.png, then metrics.json: the last file of a finished run, with the run's timings."""
    with timings.spent(run.timings, "figures_s"):
        from training import plots

        figure = plots.run_loss_figure(metrics, f"{framework} {run.config.stage}")
        runfolder.save_figure(figure, run.folder / "loss.png")
    if started is not None:
        metrics["timings"] = timings.table(run.timings, metrics, started)
    runfolder.write_json(run.folder / runfolder.METRICS, metrics)
