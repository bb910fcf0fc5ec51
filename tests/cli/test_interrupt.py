"""Ctrl-C (SIGINT) keeps the run: a checkpoint at the last finished step, exit 130, and --resume ends bit for bit."""

import os
import random
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from tests.cli.helpers import both, run, state, train

FLAGS = ["--stage", "optim", "--data", "linear", "--batch-size", "8", "--chunk", "5"]
MODULE = {"jax": "jaxnet.cli", "torch": "torchnet.cli"}


def interrupt_cli(framework, folder, rng) -> tuple[int, str]:
    """(exit code, stderr) of a long CLI run stopped by SIGINT at a random moment of its training."""
    proc = subprocess.Popen([sys.executable, "-m", MODULE[framework], *FLAGS, "--steps", "1000000",
                             "--out", str(folder)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while proc.poll() is None and not (folder / "config.json").exists() and time.monotonic() < deadline:
        time.sleep(0.01)  # the folder appears as training begins, once every input is checked and compiled
    time.sleep(rng.uniform(0.0, 0.3))
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    return proc.returncode, err


def interrupt_in_process(capsys, framework, folder, total, after_s) -> int:
    """Resume to `total` in this process while a timer sends SIGINT; the exit code (0 if it finished first)."""
    timer = threading.Timer(after_s, os.kill, (os.getpid(), signal.SIGINT))
    # A stray signal (the timer firing after the run ended) must not stop pytest: swallow it out here.
    outer = signal.signal(signal.SIGINT, lambda *_: None)
    try:
        timer.start()
        code, _, err = run(capsys, framework, "--resume", str(folder), "--steps", str(total), "--json")
        timer.join()
    finally:
        timer.cancel()
        signal.signal(signal.SIGINT, outer)
    assert code in (0, 130), err
    return code


@both
def test_sigint_at_random_moments_then_resume_ends_bit_identical_to_a_straight_run(capsys, tmp_path, framework):
    folder, rng = tmp_path / "stopped", random.Random(framework)
    code, err = interrupt_cli(framework, folder, rng)
    assert code == 130, err
    step = int(state(folder)["step"])
    assert f"interrupted at step {step} " in err and f"--resume {folder}" in err and err.count("\n") == 1, err
    total = step + 300
    # A second moment, inside the resumed run; then resume to the end.
    if interrupt_in_process(capsys, framework, folder, total, rng.uniform(0, 0.2)) == 130:
        assert step <= int(state(folder)["step"]) <= total
        train(capsys, framework, "--resume", str(folder), "--steps", str(total))
    straight = train(capsys, framework, *FLAGS, "--steps", str(total), "--out", str(tmp_path / "straight"))
    a, b = state(tmp_path / "straight"), state(folder)
    assert int(b["step"]) == total == straight["steps"]
    for k in a:
        assert np.array_equal(a[k], b[k]), k


@both
def test_resume_of_a_run_stopped_before_its_first_checkpoint_says_how_to_start_again(capsys, tmp_path, framework):
    folder = tmp_path / "r"
    folder.mkdir()
    (folder / "config.json").write_text('{"stage": "nn", "steps": 20, "data": "seed"}')
    code, _, err = run(capsys, framework, "--resume", str(folder))
    assert code == 2 and err.count("\n") == 1
    assert "interrupted before its first checkpoint" in err and f"--out {folder} --stage=nn --steps=20" in err


def test_the_first_signal_asks_the_loop_to_stop_a_second_leaves_at_once_and_handlers_come_back():
    from training.session import Stop

    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(KeyboardInterrupt):
        with Stop() as stop:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(0.01)  # Python runs the handler between bytecodes
            assert stop.asked == signal.SIGTERM
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(1)  # not reached: the second signal raises at once
    assert signal.getsignal(signal.SIGTERM) is before
