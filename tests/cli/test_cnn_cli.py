"""`--stage cnn`: a run folder with BatchNorm's running statistics as named buffers and the first layer's filters,
resumed by the other framework from exactly where the first stopped."""

import json

import numpy as np
import pytest

from tests.cli.helpers import state, train

SHORT = ["--stage", "cnn", "--data", "digits", "--eval-every", "10", "--chunk", "10"]


def test_a_torch_cnn_run_writes_its_buffers_its_filters_and_the_test_step(capsys, tmp_path):
    folder = tmp_path / "run"
    metrics = train(capsys, "torch", *SHORT, "--steps", "20", "--out", str(folder))
    saved = state(folder)
    assert saved["conv.0.w"].shape == (3, 3, 1, 16) and saved["conv.0.w"].dtype == np.float64  # HWIO, float64
    assert {"bn.0.mean", "bn.0.var", "bn.1.mean", "bn.1.var", "dropout.seed"} <= set(saved)
    assert not np.allclose(saved["bn.0.var"], 1.0)  # the running statistics moved
    for name in ("filters.png", "confusion.png", "predictions.png"):
        assert (folder / name).stat().st_size > 0
    assert len(metrics["test_predictions"]) == 539 and metrics["batch_size"] == 64
    assert json.loads((folder / "config.json").read_text())["dtype"] == "float64"


@pytest.mark.slow  # JAX compiles the cnn's chunk, loss and predict programs (~30 s on a busy machine)
def test_jax_resumes_a_torch_cnn_run_and_ends_where_torch_alone_ends(capsys, tmp_path):
    alone, handed = tmp_path / "alone", tmp_path / "handed"
    whole = train(capsys, "torch", *SHORT, "--steps", "30", "--out", str(alone))
    train(capsys, "torch", *SHORT, "--steps", "20", "--out", str(handed))
    resumed = train(capsys, "jax", "--resume", str(handed), "--steps", "30")
    assert resumed["resumed_from_step"] == 20
    ours, theirs = state(handed), state(alone)
    for k, v in theirs.items():
        np.testing.assert_allclose(ours[k], v, rtol=1e-10, atol=1e-12, err_msg=k)
    assert resumed["test_predictions"] == whole["test_predictions"]
