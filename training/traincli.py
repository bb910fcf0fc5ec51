"""The body of `jaxnet-train` and `torchnet-train`: flags -> RunConfig -> run folder, for either backend."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

from training import cli, config, runfolder, rundata, session, shards
from training.config import RunConfig
from netdata.errors import InputError

OTHER = {"jax": "torchnet", "torch": "jaxnet"}


def parser(prog: str) -> cli.Parser:
    p = cli.Parser(prog=prog, description=f"{prog}: train one lecture stage; writes a run folder both "
                                          f"frameworks can read and resume.")
    config.add_flags(p)
    return p


def open_run(args, framework: str, writes: bool = True) -> session.Run:
    """A new run folder, or the one --resume names with its settings and last checkpoint."""
    if args.resume:
        if args.out and os.path.abspath(args.out) != os.path.abspath(args.resume):
            raise InputError("--out and --resume name different folders; a resumed run writes back to its own")
        folder = Path(args.resume)
        if not folder.is_dir():
            raise InputError(f"--resume {folder}: no such folder; pass a run folder written by a training CLI")
        if not any(folder.iterdir()):
            raise InputError(f"--resume {folder}: the folder is empty; start a new run with --out instead")
        resumed = RunConfig.from_json(runfolder.read_json(folder / runfolder.CONFIG))
        state, _ = runfolder.read_state(folder / runfolder.STATE, required=("step",))
        cfg = config.resolve(args, resumed)
        step = int(state.pop("step"))
        run = session.Run(cfg, folder, step, state, resumed_from=str(folder), writes=writes)
        old = folder / runfolder.METRICS
        if old.exists():  # keep the curve of the steps already trained (it ends where the state does)
            curve = runfolder.read_json(old).get("loss_curve", {})
            run.curve = [[s, v] for s, v in zip(curve.get("step", []), curve.get("loss", [])) if s < step]
        session.check_resumable(run, cfg.steps)
        return run
    cfg = config.resolve(args)
    if args.out:
        folder = Path(args.out)
        if (folder / runfolder.STATE).exists():
            raise InputError(f"--out {folder} already holds a run; continue it with --resume {folder} "
                             f"or choose a new folder")
    if not writes:  # process 0 alone creates, names and fills the folder
        return session.Run(cfg, Path(args.out or "runs"), 0, {}, writes=False)
    if args.out:
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise InputError(f"cannot create --out {folder} ({err.strerror}); choose a folder you can write to") from None
    else:
        folder = runfolder.new_run_dir(f"{framework}-{cfg.stage}")
    runfolder.write_json(folder / runfolder.CONFIG, cfg.to_json())  # a killed run still says what it was
    return session.Run(cfg, folder, 0, {})


def test_step(backend, trainer, data: rundata.Data, folder: Path) -> dict:
    """Step 4 of the lecture: a forward pass with the trained weights on rows training never saw."""
    from training import evaluate, plots

    pred = np.argmax(backend.predict(trainer, data.x_test), axis=1)
    matrix = evaluate.confusion(data.y_test, pred, len(data.class_names))
    runfolder.save_figure(plots.confusion_figure(matrix, data.class_names), folder / "confusion.png")
    if data.test_images is not None:
        figure = plots.predictions_figure(data.test_images[:40], data.y_test[:40], pred[:40], data.class_names)
        runfolder.save_figure(figure, folder / "predictions.png")
    return {"test_accuracy": evaluate.accuracy(data.y_test, pred),
            "per_class_accuracy": [float(a) for a in evaluate.per_class_accuracy(matrix)],
            "confusion": matrix.tolist(), "test_predictions": pred.tolist(), "class_names": list(data.class_names)}


def execute(args, framework: str, make_backend: Callable, quiet: bool) -> tuple[dict, session.Run]:
    launch = shards.launch(args, framework)
    run = open_run(args, framework, launch.writer)
    cfg = run.config
    data = rundata.load(cfg)
    if not run.state:
        run.state = rundata.initial_weights(cfg, data)
    with make_backend(cfg, data, launch) as backend:
        progress = None if quiet or not run.writes else _progress_bar(framework, cfg.stage)
        try:
            metrics, trainer = session.train(run, data, backend, progress and progress.update)
        finally:
            if progress:
                progress.close()
        if data.x_test is not None and run.writes:
            metrics |= test_step(backend, trainer, data, run.folder)
    metrics["run_folder"] = str(run.folder)
    if not run.writes:
        return metrics, run
    runfolder.write_json(run.folder / runfolder.METRICS, metrics)
    curve = np.asarray(metrics["loss_curve"]["loss"])
    from training import plots
    steps = np.asarray(metrics["loss_curve"]["step"])
    runfolder.save_figure(plots.loss_figure({framework: curve}, f"{framework} {cfg.stage}", steps),
                          run.folder / "loss.png")
    return metrics, run


def compare(args, metrics: dict, run: session.Run, framework: str) -> dict:
    """--compare: the same run by the other framework's CLI, in a sibling folder, then both curves."""
    from training import plots

    other = OTHER[framework]
    folder = run.folder.with_name(run.folder.name + f"-{other}")
    flags = []
    for key, value in run.config.to_json().items():
        flag = "--" + key.replace("_", "-")
        if value is True:
            flags.append(flag)
        elif value not in (None, False):
            flags.append(f"{flag}={','.join(map(str, value)) if isinstance(value, list) else value}")
    cmd = [sys.executable, "-m", f"{other}.train", *flags, f"--out={folder}", "--json"]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise InputError(f"--compare: {other} failed: {done.stderr.strip().splitlines()[-1:]}")
    theirs = json.loads(done.stdout)
    ours_w, _ = runfolder.read_safetensors(run.folder / runfolder.WEIGHTS)
    theirs_w, _ = runfolder.read_safetensors(folder / runfolder.WEIGHTS)
    rel = max(float(np.linalg.norm(ours_w[k].astype(np.float64) - theirs_w[k]) /
                    max(np.linalg.norm(theirs_w[k].astype(np.float64)), 1e-300)) for k in ours_w)
    a, b = np.asarray(metrics["loss_curve"]["loss"]), np.asarray(theirs["loss_curve"]["loss"])
    curves = {framework: a, OTHER[framework].removesuffix("net"): b}
    steps = np.asarray(metrics["loss_curve"]["step"])
    runfolder.save_figure(plots.loss_figure(curves, f"{run.config.stage}: both frameworks", steps), run.folder / "loss.png")
    result = {"other_run_folder": str(folder), "weights_rel_err": rel,
              "loss_max_rel_err": float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-300))) if a.shape == b.shape else None}
    if "confusion" in metrics:
        result["same_test_predictions"] = metrics["test_predictions"] == theirs["test_predictions"]
    return result


def prog_name(framework: str) -> str:
    return f"{'jaxnet' if framework == 'jax' else 'torchnet'}-train"


def parse(argv: list[str] | None, framework: str):
    """Flags only: no framework is imported yet, so --help and flag errors answer at once."""
    return parser(prog_name(framework)).parse_args(argv)


def main(args, framework: str, make_backend: Callable) -> int:
    prog = prog_name(framework)
    quiet = args.json or not sys.stdout.isatty()

    def body() -> int:
        try:
            metrics, run = execute(args, framework, make_backend, quiet)
        except session.Diverged as err:
            sys.stderr.write(f"{prog}: diverged: {err}\n")
            return session.EXIT_DIVERGED
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
    print(f"{m['framework']} {m['stage']}: loss {m['initial_loss']:.6g} -> {m['final_loss']:.6g} after "
          f"{m['steps']} steps ({m['steps_per_s'] or 0:,.0f} steps/s, compile {m['compile_s']:.2f} s) on {m['device']}")
    if "test_accuracy" in m:
        print(f"test accuracy {m['test_accuracy']:.4f}; confusion matrix (rows: true class):")
        for name, row in zip(m["class_names"], m["confusion"]):
            print(f"  {name:>12} " + " ".join(f"{v:4d}" for v in row))
    if "compare" in m:
        c = m["compare"]
        print(f"compare: weights rel err {c['weights_rel_err']:.2e} vs {c['other_run_folder']}")
    print(f"run folder: {m['run_folder']}")


class _progress_bar:
    """A rich progress bar updated once per chunk: step, loss, steps/s."""

    def __init__(self, framework: str, stage: str):
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self._p = Progress(TextColumn(f"{framework} {stage}"), BarColumn(), MofNCompleteColumn(),
                           TextColumn("loss {task.fields[loss]}"), TextColumn("{task.fields[rate]} steps/s"),
                           TimeRemainingColumn())
        self._task = self._p.add_task("train", total=None, loss="-", rate="-")
        self._p.start()

    def update(self, done: int, total: int, loss: float, rate: float) -> None:
        self._p.update(self._task, completed=done, total=total, loss=f"{loss:.5g}", rate=f"{rate:,.0f}")

    def close(self) -> None:
        self._p.stop()
