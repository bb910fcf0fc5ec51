"""The body of `jaxnet-train` and `torchnet-train`: flags -> RunConfig -> run folder, for either backend."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from training import cli, config, runfolder, rundata, session, shards, timings, validation, verdict
from training.config import RunConfig
from netdata.errors import InputError

OTHER = {"jax": "torchnet", "torch": "jaxnet"}
EXIT_INTERRUPTED = 130  # 128 + SIGINT, what a shell reports for a program stopped by Ctrl-C


def parser(prog: str) -> cli.Parser:
    p = cli.Parser(prog=prog, description=f"{prog}: train one lecture stage; writes a run folder both "
                                          f"frameworks can read and resume.")
    config.add_flags(p)
    return p


def open_run(args, framework: str, writes: bool = True) -> session.Run:
    """The run --resume names, with its settings and last checkpoint; or a new run, whose folder is made
    only when training begins (make_folder), so that bad input leaves nothing behind."""
    if args.resume:
        if args.out and os.path.abspath(args.out) != os.path.abspath(args.resume):
            raise InputError("--out and --resume name different folders; a resumed run writes back to its own")
        folder = Path(args.resume)
        if not folder.is_dir():
            raise InputError(f"--resume {folder}: no such folder; pass a run folder written by a training CLI")
        if not any(folder.iterdir()):
            raise InputError(f"--resume {folder}: the folder is empty; start a new run with --out instead")
        if (folder / runfolder.CONFIG).is_file() and not (folder / runfolder.STATE).exists():
            raise InputError(_never_saved(folder, framework))
        resumed = RunConfig.from_json(runfolder.read_json(folder / runfolder.CONFIG))
        state, meta = runfolder.read_state(folder / runfolder.STATE, required=("step",))
        cfg = config.resolve(args, resumed)
        step = int(state.pop("step"))
        run = session.Run(cfg, folder, step, state, resumed_from=str(folder), writes=writes)
        validation.resume(run, meta)
        if (folder / runfolder.METRICS).exists():  # keep the curves of the steps already trained
            session.carry_over(run, runfolder.read_json(folder / runfolder.METRICS))
        if (folder / runfolder.CLASSES).exists():
            run.class_names = runfolder.read_classes(folder / runfolder.CLASSES)
        session.check_resumable(run, cfg.steps)
        return run
    cfg = config.resolve(args)
    folder = Path(args.out) if args.out else None
    if folder is not None and (folder / runfolder.STATE).exists():
        raise InputError(f"--out {folder} already holds a run; continue it with --resume {folder} "
                         f"or choose a new folder")
    return session.Run(cfg, folder, 0, {}, writes=writes)


def _never_saved(folder: Path, framework: str) -> str:
    try:
        flags = " ".join(shlex.quote(f) for f in config_flags(runfolder.read_json(folder / runfolder.CONFIG)))
    except (InputError, AttributeError):
        flags = "<the run's flags>"
    return (f"--resume {folder}: the run was interrupted before its first checkpoint (config.json but no "
            f"state.safetensors), so there is nothing to continue; start it again with "
            f"{prog_name(framework)} --out {shlex.quote(str(folder))} {flags}")


def make_folder(run: session.Run, framework: str) -> None:
    """Create a new run's folder and write its config: the first file, once every input has been checked."""
    if run.resumed_from or not run.writes:
        return
    if run.folder is None:
        run.folder = runfolder.new_run_dir(f"{framework}-{run.config.stage}")
    else:
        try:
            run.folder.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise InputError(f"cannot create --out {run.folder} ({err.strerror}); choose a folder you can "
                             f"write to") from None
    runfolder.write_json(run.folder / runfolder.CONFIG, run.config.to_json())  # a killed run still says what it was
    if run.class_names is not None:
        runfolder.write_json(run.folder / runfolder.CLASSES, {"class_names": list(run.class_names)})


def test_step(backend, trainer, data: rundata.Data, folder: Path, spent: dict[str, float] | None = None) -> dict:
    """Step 4 of the lecture: a forward pass with the trained weights on rows training never saw."""
    from training import evaluate

    pred = np.argmax(backend.predict(trainer, data.x_test), axis=1)
    matrix = evaluate.confusion(data.y_test, pred, len(data.class_names))
    with timings.spent({} if spent is None else spent, "figures_s"):
        from training import plots  # matplotlib loads only for a run that draws

        runfolder.save_figure(plots.confusion_figure(matrix, data.class_names), folder / "confusion.png")
        if data.test_images is not None:
            figure = plots.predictions_figure(data.test_images[:40], data.y_test[:40], pred[:40], data.class_names)
            runfolder.save_figure(figure, folder / "predictions.png")
    if backend.cfg.stage == "cnn":  # the features it learned: the first layer's filters
        from training import filters
        runfolder.save_figure(filters.filters_figure(backend.export(trainer)), folder / filters.FILE)
    return {"test_accuracy": evaluate.accuracy(data.y_test, pred),
            "per_class_accuracy": [float(a) for a in evaluate.per_class_accuracy(matrix)],
            "confusion": matrix.tolist(), "test_predictions": pred.tolist(), "class_names": list(data.class_names)}


def execute(args, framework: str, make_backend: Callable, quiet: bool,
            started: float | None = None) -> tuple[dict, session.Run]:
    """One run, start to metrics.json; `started`: the perf_counter() of the process's start (imports_s, total_s)."""
    now = time.perf_counter()
    started = now if started is None else started
    launch = shards.launch(args, framework)
    run = open_run(args, framework, launch.writer)
    run.timings["imports_s"] = now - started
    cfg = run.config
    data = rundata.load(cfg, run.class_names)
    if data.class_names is not None and run.class_names is None:
        run.class_names = list(data.class_names)
    if not run.state:
        run.state = rundata.initial_weights(cfg, data)
    with make_backend(cfg, data, launch, cache=not getattr(args, "no_cache", False)) as backend:
        # Ranks of a multi-process run must stop at one chunk together; there a signal still ends at once.
        with session.Stop(enabled=launch.num_processes == 1) as stop:
            progress = None if quiet or not run.writes else _progress_bar(framework, cfg.stage)
            try:
                # Its forward passes count as eval_s, its build as build_s; then matplotlib loads beside XLA.
                meanwhile = run.writes and getattr(backend, "compiles", False)
                timed = timings.Timed(backend, run.timings, _load_matplotlib_meanwhile if meanwhile else None)
                metrics, trainer = session.train(run, data, timed, progress and progress.update, stop,
                                                 lambda: make_folder(run, framework))
            except session.Interrupted as err:
                err.metrics["run_folder"] = str(run.folder)
                if run.writes:  # the curves, for the resumed run's plot; no figure: matplotlib would delay the exit
                    runfolder.write_json(run.folder / runfolder.METRICS, err.metrics)
                raise
            finally:
                if progress:
                    progress.close()
            if data.x_test is not None and run.writes:
                metrics |= test_step(timed, trainer, data, run.folder, run.timings)
            if getattr(args, "compare", False) and run.writes:  # the yardstick of --compare's verdict
                ours = run.best if run.best is not None else backend.export(trainer)  # the run's weights
                drift = verdict.nudge_drift(run, backend, data, ours)
            # Counted to here: what compiles after this (--compare's nudge) is not part of the run.
            metrics |= {"compilations": backend.compilations, "cache_hits": backend.cache_hits}
    if getattr(args, "compare", False) and run.writes:
        metrics["nudge"] = drift
    metrics["run_folder"] = str(run.folder)
    if run.writes:
        write_metrics(run, metrics, framework, started)
    return metrics, run


def _load_matplotlib_meanwhile() -> None:
    """Import matplotlib on a second thread once the model is built, while XLA compiles and the scan trains: both let
    go of the GIL, so on a second core the ~0.4 s import is over by the time the figures are drawn. Not beside
    torch's eager loop, whose small steps hold the GIL: there the import only moved into train_s (the lecture's
    problem: 2.26 -> 2.6 s, its steps/s understated by 13 %), so torch's figures_s pays it."""
    def load() -> None:
        try:
            from training import plots

            plots.load()
        except Exception:  # the drawing itself says what is wrong, on the main thread
            pass

    threading.Thread(target=load, name="load-matplotlib", daemon=True).start()


def write_metrics(run: session.Run, metrics: dict, framework: str, started: float | None = None) -> None:
    """loss.png, then metrics.json: the last file of a finished run, with the run's timings."""
    with timings.spent(run.timings, "figures_s"):
        from training import plots

        figure = plots.run_loss_figure(metrics, f"{framework} {run.config.stage}")
        runfolder.save_figure(figure, run.folder / "loss.png")
    if started is not None:
        metrics["timings"] = timings.table(run.timings, metrics, started)
    runfolder.write_json(run.folder / runfolder.METRICS, metrics)


def config_flags(saved: dict) -> list[str]:
    """The command-line flags that recreate a config.json's settings."""
    flags = []
    for key, value in saved.items():
        flag = "--" + key.replace("_", "-")
        if value is True:
            flags.append(flag)
        elif value not in (None, False):
            flags.append(f"{flag}={','.join(map(str, value)) if isinstance(value, list) else value}")
    return flags


def compare(args, metrics: dict, run: session.Run, framework: str) -> dict:
    """--compare: the same run by the other framework's CLI, in a sibling folder, then both curves."""
    from training import plots

    other = OTHER[framework]
    folder = run.folder.with_name(run.folder.name + f"-{other}")
    flags = config_flags(run.config.to_json())
    cmd = [sys.executable, "-m", f"{other}.cli", *flags, f"--out={folder}", "--json"]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise InputError(f"--compare: {other} failed: {done.stderr.strip().splitlines()[-1:]}")
    theirs = json.loads(done.stdout)
    ours_w, _ = runfolder.read_safetensors(run.folder / runfolder.WEIGHTS)
    theirs_w, _ = runfolder.read_safetensors(folder / runfolder.WEIGHTS)
    rel = verdict.rel_err(ours_w, theirs_w)
    a, b = np.asarray(metrics["loss_curve"]["loss"]), np.asarray(theirs["loss_curve"]["loss"])
    curves = {framework: a, OTHER[framework].removesuffix("net"): b}
    steps = np.asarray(metrics["loss_curve"]["step"])
    runfolder.save_figure(plots.loss_figure(curves, f"{run.config.stage}: both frameworks", steps), run.folder / "loss.png")
    nudge = metrics.pop("nudge")
    result = {"other_run_folder": str(folder), "weights_rel_err": rel,
              "loss_max_rel_err": float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-300))) if a.shape == b.shape else None,
              **nudge, **verdict.judge(rel, nudge["nudge_drift"], run.config.dtype)}
    if "confusion" in metrics:
        differ = int(np.sum(np.asarray(metrics["test_predictions"]) != np.asarray(theirs["test_predictions"])))
        result |= {"same_test_predictions": differ == 0, "test_predictions_differ": differ,
                   "test_predictions": len(metrics["test_predictions"])}
    return result


def prog_name(framework: str) -> str:
    return f"{'jaxnet' if framework == 'jax' else 'torchnet'}-train"


def parse(argv: list[str] | None, framework: str):
    """Flags only: no framework is imported yet, so --help and flag errors answer at once."""
    args = parser(prog_name(framework)).parse_args(argv)
    set_threads(args.threads, framework)
    return args


def set_threads(threads: int | None, framework: str, environ=os.environ) -> None:
    """CPU threads for the framework about to load: both read these once, when they start.

    Without --threads an OMP_NUM_THREADS the user set is kept; else config.DEFAULT_THREADS applies.
    """
    if threads is None and "OMP_NUM_THREADS" in environ:
        threads = int(environ["OMP_NUM_THREADS"]) if environ["OMP_NUM_THREADS"].isdigit() else None
    n = config.DEFAULT_THREADS if threads is None else threads
    if framework == "torch":
        environ["OMP_NUM_THREADS"] = environ["MKL_NUM_THREADS"] = str(n)  # torch's intra-op pool size
    flags = environ.get("XLA_FLAGS", "")
    if framework == "jax" and n == 1 and "xla_cpu_multi_thread_eigen" not in flags:
        environ["XLA_FLAGS"] = (flags + " --xla_cpu_multi_thread_eigen=false").strip()


def main(args, framework: str, make_backend: Callable, started: float | None = None) -> int:
    """`started`: the entry point's perf_counter() at the process's start, before the framework's imports."""
    prog = prog_name(framework)
    quiet = args.json or not sys.stdout.isatty()

    def body() -> int:
        try:
            metrics, run = execute(args, framework, make_backend, quiet, started)
        except session.Diverged as err:
            sys.stderr.write(f"{prog}: diverged: {err}\n")
            return session.EXIT_DIVERGED
        except session.Interrupted as err:
            folder = err.metrics["run_folder"]
            sys.stderr.write(f"{prog}: interrupted at step {err.step} of {err.metrics['steps']}; the run is saved "
                             f"in {folder}; continue it with: {prog} --resume {shlex.quote(folder)}\n")
            return EXIT_INTERRUPTED
        if not run.writes:  # a data-parallel process other than 0: process 0 reports for the run
            return 0
        if args.compare:
            metrics["compare"] = compare(args, metrics, run, framework)
            runfolder.write_json(run.folder / runfolder.METRICS, metrics)
        if args.json:
            print(json.dumps(metrics))
        else:
            _summary(metrics)
        return 0

    return cli.run(body, prog, args.debug)


def _summary(m: dict) -> None:
    print(f"{m['framework']} {m['stage']}: {loss_line(m)} "
          f"({m['steps_per_s'] or 0:,.0f} steps/s{_compiled(m)}) on {m['device']}")
    v = m.get("validation")
    if v:
        stop = f"stopped at step {v['stopped_at_step']}" if v["stopped_at_step"] else "did not stop early"
        print(f"validation ({v['rows']} rows): {stop}; best step {v['best_step']}: loss {v['best_loss']:.4g}, "
              f"accuracy {v['best_accuracy']:.4f} (its weights are the run's)")
    if "test_accuracy" in m:
        print(f"test accuracy {m['test_accuracy']:.4f}; confusion matrix (rows: true class):")
        for name, row in zip(m["class_names"], m["confusion"]):
            print(f"  {name:>12} " + " ".join(f"{v:4d}" for v in row))
    if "compare" in m:
        print(verdict.line(m["compare"], m["dtype"], OTHER[m["framework"]].removesuffix("net")))
    print(f"run folder: {m['run_folder']}")


def loss_line(m: dict) -> str:
    """What the run's two training losses are: where it started (a resume: the step it resumed at) and the weights it
    kept, which with validation are the best validation step's, not the last step's (so the loss may be higher)."""
    start = m["resumed_from_step"] or 0
    reached = start + m["steps_this_run"]
    v = m.get("validation")
    before = f"training loss {m['initial_loss']:.6g}" + (f" at step {start} (resumed)" if start else "")
    if not (v and 0 <= v["best_step"] != reached):
        return f"{before} -> {m['final_loss']:.6g} after {reached} steps"
    when = "before this run resumed" if v["best_step"] < start else f"of {reached} steps"
    return (f"{before} -> {m['final_loss']:.6g} at step {v['best_step']}, the weights kept "
            f"(the best validation loss {when})")


def _compiled(m: dict) -> str:
    """', compile 0.31 s: 3 programs' (or '..., 0 compiled, 3 from the cache'); nothing for an eager framework."""
    if not m.get("compilations") and not m.get("cache_hits"):
        return f", compile {m['compile_s']:.2f} s" if m.get("compile_s") else ""
    cached = f", {m['compilations']} compiled, {m['cache_hits']} from the cache" if m.get("cache_hits") else \
        f": {m['compilations']} programs"
    return f", compile {m['compile_s']:.2f} s{cached}"


class _progress_bar:
    """A rich progress bar updated once per chunk: step, loss, steps/s."""

    def __init__(self, framework: str, stage: str):
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self._p = Progress(TextColumn(f"{framework} {stage}"), BarColumn(), MofNCompleteColumn(),
                           TextColumn("loss {task.fields[loss]}"), TextColumn("{task.fields[val]}"),
                           TextColumn("{task.fields[rate]} steps/s"), TimeRemainingColumn())
        self._task = self._p.add_task("train", total=None, loss="-", rate="-", val="")
        self._p.start()

    def update(self, done: int, total: int, loss: float, rate: float, val: tuple[float, float] | None = None) -> None:
        shown = {"val": f"val loss {val[0]:.4g} acc {val[1]:.3f}"} if val else {}
        self._p.update(self._task, completed=done, total=total, loss=f"{loss:.5g}", rate=f"{rate:,.0f}", **shown)

    def close(self) -> None:
        self._p.stop()
