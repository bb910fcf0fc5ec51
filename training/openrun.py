"""Opening a run: a new one (its folder made only when training begins) or the one --resume names."""

from __future__ import annotations

import os
import shlex
from pathlib import Path

from netdata.errors import InputError
from training import config, runfolder, session, validation
from training.config import RunConfig


def prog_name(framework: str) -> str:
    return f"{'jaxnet' if framework == 'jax' else 'torchnet'}-train"


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
