"""kill -9 at any moment leaves a resumable run; divergence stops with finite weights on disk."""

import random
import subprocess
import sys
import time

import numpy as np

from tests.cli.helpers import both, run, state, train, weights

STEPS = 2000
FLAGS = ["--stage", "optim", "--data", "linear", "--batch-size", "8", "--steps", str(STEPS), "--chunk", "5",
         "--save-every", "20", "--json"]
MODULE = {"jax": "jaxnet.cli", "torch": "torchnet.cli"}


def start(framework, *flags):
    return subprocess.Popen([sys.executable, "-m", MODULE[framework], *flags],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def kill_mid_run(proc, folder, rng) -> bool:
    """SIGKILL once training has begun (its first checkpoint exists), at a random moment after that."""
    deadline = time.monotonic() + 60
    while proc.poll() is None and not (folder / "state.safetensors").exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(rng.uniform(0.0, 0.4))  # somewhere among the following chunks and checkpoint writes
    if proc.poll() is not None:
        return False
    proc.kill()
    return True


@both
def test_kill_9_at_random_moments_then_resume_ends_bit_identical_to_a_straight_run(capsys, tmp_path, framework):
    train(capsys, framework, *FLAGS[:-1], "--out", str(tmp_path / "straight"))
    folder = tmp_path / "killed"
    rng = random.Random(framework)
    kills = 0
    for attempt in range(12):
        resumable = (folder / "state.safetensors").exists()
        if resumable and int(state(folder)["step"]) == STEPS:  # killed after its last checkpoint
            break
        flags = ["--resume", str(folder), "--steps", str(STEPS), "--json"] if resumable else [*FLAGS, "--out", str(folder)]
        proc = start(framework, *flags)
        if attempt < 2:  # kill the first two at random moments, then let the resumed one finish
            kills += kill_mid_run(proc, folder, rng)
        proc.wait(timeout=120)
        if proc.returncode == 0:
            break
        assert proc.returncode == -9, proc.stderr.read()
    assert kills >= 1
    a, b = state(tmp_path / "straight"), state(folder)
    assert int(b["step"]) == STEPS
    for k in a:
        assert np.array_equal(a[k], b[k]), k


@both
def test_a_diverging_run_names_the_step_and_keeps_finite_weights(capsys, tmp_path, framework):
    code, out, err = run(capsys, framework, "--stage", "nn", "--lr", "1e3", "--steps", "200", "--chunk", "50",
                         "--out", str(tmp_path / "r"))
    assert code == 3
    assert "step" in err and "--lr" in err and err.count("\n") == 1
    assert all(np.all(np.isfinite(v)) for v in weights(tmp_path / "r").values())


@both
def test_check_numerics_keeps_the_weights_of_the_last_finite_step(capsys, tmp_path, framework):
    code, _, err = run(capsys, framework, "--stage", "nn", "--lr", "1e3", "--steps", "200", "--chunk", "50",
                       "--check-numerics", "--out", str(tmp_path / "r"))
    assert code == 3
    saved = int(state(tmp_path / "r")["step"])
    bad = int(err.split("at step ")[1].split(";")[0])
    assert 0 < saved <= bad and saved > 0
    assert all(np.all(np.isfinite(v)) for v in weights(tmp_path / "r").values())
