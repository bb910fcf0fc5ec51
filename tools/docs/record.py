"""docs/measured/env.json and equivalence.json: the installed versions per CI lane, and a fresh `equivalence check`."""

from __future__ import annotations

import datetime
import json
import os
import platform
import subprocess
import time
import sys
from importlib import metadata
from pathlib import Path

from tools.docs.source import ROOT
from training.runfolder import atomic_write_bytes

PACKAGES = ("jax", "flax", "optax", "torch", "numpy")  # the "tested with" line, in this order
DTYPES = ("float64", "float32")


class RecordFailed(Exception):
    """A measurement could not be taken; the message says which command failed and how."""


def same_version(a: str, b: str) -> bool:
    """Two version strings name the same release: a local build tag (2.13.0+cpu, +cu130) is not a difference."""
    from packaging.version import Version

    return Version(Version(a).public) == Version(Version(b).public)  # 2.13 is 2.13.0


def env() -> dict:
    """The installed versions the README's "tested with" line names."""
    return {"python": platform.python_version(), "platform": f"{platform.system()} {platform.machine()}",
            **{p: metadata.version(p) for p in PACKAGES}}


def env_record(measured: Path, lane: str) -> dict:
    """docs/measured/env.json with one lane's entry replaced by the installed versions and today's date."""
    path = measured / "env.json"
    record = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    lanes = record.get("lanes", {})
    lanes[lane] = env() | {"date": datetime.date.today().isoformat()}
    return {"lanes": lanes}  # written with sorted keys; the README orders the lanes as .ci/run runs them


def measure_equivalence(steps: int | None = None) -> dict:
    """`equivalence check --json` once per dtype (both regimes, every stage, on the CPU)."""
    out = {}
    for dtype in DTYPES:
        cmd = [sys.executable, "-m", "equivalence", "check", "--json", "--dtype", dtype,
               *(["--steps", str(steps)] if steps else [])]
        started = time.perf_counter()
        done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
        wall_s = time.perf_counter() - started
        if done.returncode not in (0, 1):  # 1: a row failed, which the README must then show
            raise RecordFailed(f"{' '.join(cmd[1:])} exited {done.returncode}: {done.stderr.strip()[-300:]}")
        run = json.loads(done.stdout)
        keep = ("stage", "regime", "lr", "steps", "quantity", "pair", "rel_err", "max_abs", "tol", "passed",
                "first_bad_step", "horizon")
        run["results"] = [{k: r.get(k) for k in keep} for r in run["results"]]
        out[dtype] = run | {"wall_s": round(wall_s, 1)}
    out["device"] = out["float64"]["device"]
    out["cores"] = os.cpu_count()
    out["command"] = "equivalence check --json --dtype float64|float32" + (f" --steps {steps}" if steps else "")
    return out


def write_json(path: Path, data: dict) -> None:
    atomic_write_bytes(path, (json.dumps(data, indent=1, sort_keys=True) + "\n").encode("utf-8"))
