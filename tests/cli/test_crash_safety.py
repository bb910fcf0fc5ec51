"""kill -9 at any moment leaves a resumable run; divergence stops with finite weights on disk."""

import random
import subprocess
import sys
import time

import numpy as np
import pytest

from tests.cli.helpers import both, run, state, train, weights

STEPS, SAVE_EVERY = 600, 20
FLAGS = ["--stage", "optim", "--data", "linear", "--batch-size", "8", "--steps", str(STEPS), "--chunk", "5",
         "--save-every", str(SAVE_EVERY), "--json"]
MODULE = {"jax": "jaxnet.cli", "torch": "torchnet.cli"}


def start(framework, *flags):
    return subprocess.Popen([sys.executable, "-m", MODULE[framework], *flags],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def kill_mid_run(proc, folder, rng) -> bool:
    """SIGKILL at a random moment of the training: after a random checkpoint, among the chunks and writes that follow."""
    done = int(state(folder)["step"]) if (folder / "state.safetensors").exists() else 0
    # A checkpoint this run will write, not its last: the kill lands mid-run whatever the machine's speed.
    target = rng.randrange(done + SAVE_EVERY, max(STEPS - 2 * SAVE_EVERY, done + SAVE_EVERY + 1), SAVE_EVERY)
    deadline = time.monotonic() + 120
    while proc.poll() is None and time.monotonic() < deadline:
        if (folder / "state.safetensors").exists() and int(state(folder)["step"]) >= target:
            break
        time.sleep(0.01)
    time.sleep(rng.uniform(0.0, 0.05))  # somewhere among the following chunks and checkpoint writes
    if proc.poll() is not None:
        return False
    proc.kill()
    return True


@both
@pytest.mark.parametrize("kills", [1, pytest.param(4, marks=pytest.mark.slow)])
def test_kill_9_at_random_moments_then_resume_ends_bit_identical_to_a_straight_run(capsys, tmp_path, framework, kills):
    # One kill at a random moment (the default suite) or several in a row (--full); the resume that
    # finishes runs in-process, the killed runs must be processes of their own.
    train(capsys, framework, *FLAGS[:-1], "--out", str(tmp_path / "straight"))
    folder = tmp_path / "killed"
    rng = random.Random(framework)
    killed = 0
    for attempt in range(kills + 4):
        resumable = (folder / "state.safetensors").exists()
        if resumable and int(state(folder)["step"]) == STEPS:  # killed after its last checkpoint
            break
        flags = ["--resume", str(folder), "--steps", str(STEPS)] if resumable else [*FLAGS[:-1], "--out", str(folder)]
        if killed == kills:  # let the last resume finish, here
            train(capsys, framework, *flags)
            break
        proc = start(framework, *flags, "--json")
        killed += kill_mid_run(proc, folder, rng)
        proc.wait(timeout=120)
        assert proc.returncode in (0, -9), proc.stderr.read()
        if proc.returncode == 0:
            break
    assert killed >= 1
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
