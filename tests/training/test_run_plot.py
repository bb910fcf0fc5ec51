"""loss.png stays true: who trained which steps (across a resume), minibatch noise averaged, epoch means shown."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.cli.helpers import train
from training import plots, session
from training.config import RunConfig


def metrics(minibatch: bool) -> dict:
    steps = list(range(0, 1000, 5))
    loss = list(np.exp(-np.arange(200) / 50) + (0.3 * np.random.default_rng(0).random(200) if minibatch else 0))
    return {"loss_curve": {"step": steps, "loss": loss}, "minibatch": minibatch,
            "epoch_loss": {"step": [100, 200, 300] if minibatch else [], "loss": [0.9, 0.5, 0.3] if minibatch else []},
            "segments": [{"framework": "jax", "start": 0, "end": 600}, {"framework": "torch", "start": 600, "end": 1000}]}


@pytest.mark.parametrize("minibatch", [False, True], ids=["full batch", "minibatch"])
def test_the_plot_names_each_frameworks_steps(minibatch):
    ax = plots.run_loss_figure(metrics(minibatch), "mlp").axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels[0].startswith("jax, steps 0-600") and labels[1].startswith("torch, steps 600-1000")
    assert ("mean loss of each epoch" in labels) == minibatch
    faint = [line for line in ax.get_lines() if line.get_alpha() is not None and line.get_alpha() < 1]
    assert len(faint) == (2 if minibatch else 0)  # the raw minibatch losses, one per segment
    jax_line = next(line for line in ax.get_lines() if line.get_label().startswith("jax"))
    assert np.max(jax_line.get_xdata()) < 600


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(0, 1e3), min_size=1, max_size=50), st.integers(1, 10))
def test_the_moving_average_is_the_mean_of_each_window(values, window):
    y = np.asarray(values)
    window = min(window, len(y))
    expected = [np.mean(y[i:i + window]) for i in range(len(y) - window + 1)]
    assert np.allclose(plots.moving_average(y, window), expected, rtol=1e-12, atol=1e-9)


def test_a_resume_carries_the_curves_up_to_its_state_and_adds_its_framework():
    run = session.Run(RunConfig(), None, 600, {})
    old = metrics(True) | {"framework": "torch"}
    old["segments"][-1]["end"] = 700  # trained past the checkpoint the resume starts from
    session.carry_over(run, old)
    assert run.segments == [{"framework": "jax", "start": 0, "end": 600}]  # torch's steps past 600 are undone
    assert max(s for s, _ in run.curve) < 600 and [s for s, _ in run.epochs] == [100, 200, 300]
    assert session.curves(run, True)["segments"] == [{"framework": "jax", "start": 0, "end": 600}]


def test_a_jax_run_resumed_by_torch_records_both_segments(capsys, tmp_path):
    flags = ["--stage", "optim", "--data", "linear", "--batch-size", "8", "--chunk", "10"]
    train(capsys, "jax", *flags, "--steps", "20", "--out", str(tmp_path / "r"))
    m = train(capsys, "torch", "--resume", str(tmp_path / "r"), "--steps", "40")
    assert m["segments"] == [{"framework": "jax", "start": 0, "end": 20}, {"framework": "torch", "start": 20, "end": 40}]
    # linear: 64 rows, 8 steps an epoch; the one split by the resume (steps 16-23) has no whole mean
    assert m["minibatch"] and m["epoch_loss"]["step"] == [8, 16, 32, 40]
    assert (tmp_path / "r" / "loss.png").stat().st_size > 0
