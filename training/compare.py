"""`--compare`: the same run by the other framework's CLI, in a sibling folder, then both curves and a verdict."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np

from netdata.errors import InputError
from training import runfolder, session, verdict
from training.openrun import config_flags

OTHER = {"jax": "torchnet", "torch": "jaxnet"}


def compare(metrics: dict, run: session.Run, framework: str) -> dict:
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
