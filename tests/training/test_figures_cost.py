"""A run's figures take the cheap paths: no math-text parsing, no measuring of tick labels to place titles."""

import json

import matplotlib.axis
import matplotlib.mathtext
import numpy as np
import pytest

from training import plots, runfolder


def figures(metrics: dict) -> dict:
    labels = [str(i) for i in range(10)]
    images = np.random.default_rng(0).random((40, 8, 8))
    return {"loss": plots.run_loss_figure(metrics, "jax mlp"),
            "both": plots.loss_figure({"jax": metrics["loss_curve"]["loss"], "torch": metrics["loss_curve"]["loss"]}, ""),
            "confusion": plots.confusion_figure(np.eye(10, dtype=int) * 30, labels),
            "predictions": plots.predictions_figure(images, np.arange(40) % 10, np.arange(40)[::-1] % 10, labels)}


METRICS = {"loss_curve": {"step": list(range(0, 1000, 10)), "loss": list(np.geomspace(2.3, 1e-5, 100))},
           "minibatch": True, "epoch_loss": {"step": [100, 200], "loss": [0.1, 0.01]}}


@pytest.mark.parametrize("name", ["loss", "both", "confusion", "predictions"])
def test_a_figure_draws_without_math_text_or_title_layout(tmp_path, monkeypatch, name):
    def refuse(*args, **kwargs):
        raise AssertionError("a slow path of matplotlib was taken")

    monkeypatch.setattr(matplotlib.mathtext.MathTextParser, "parse", refuse)  # log ticks as TeX: ~0.2 s a run
    monkeypatch.setattr(matplotlib.axis.Axis, "get_tightbbox", refuse)  # a title placed by measuring the axes
    fig = figures(json.loads(json.dumps(METRICS)))[name]
    runfolder.save_figure(fig, tmp_path / f"{name}.png")
    assert (tmp_path / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
