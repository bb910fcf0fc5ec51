"""Every stage's two programs run as a reader runs them (`python -m torchnet.<stage>`), their output kept for the docs."""

from __future__ import annotations

import os
import subprocess
import sys

from tools.docs.source import FRAMEWORKS, ROOT

TIMEOUT_S = 900


def command(side: str, stage: str) -> str:
    return f"python -m {FRAMEWORKS[side]}.{stage}"


def run_main(side: str, stage: str) -> str:
    """What the program prints. One CPU thread: eager torch's many tiny ops only fight over more."""
    env = os.environ | {"OMP_NUM_THREADS": "1", "PYTHONHASHSEED": "0"}
    done = subprocess.run([sys.executable, "-m", f"{FRAMEWORKS[side]}.{stage}"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=TIMEOUT_S, check=False)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"`{command(side, stage)}` exited {done.returncode}: {last}")
    return done.stdout


def run_all(stages) -> dict[str, dict[str, str]]:
    return {stage: {side: run_main(side, stage) for side in FRAMEWORKS} for stage in stages}
