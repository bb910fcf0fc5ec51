"""Validation and early stopping from the CLIs: both frameworks stop at one step, keep the best weights, resume alike."""

import contextlib
import io
import json
import shutil

import numpy as np
import pytest
from safetensors import safe_open

from tests.cli.helpers import MAIN, run, state, train, weights

# Iris with short patience: the runs stop after a few dozen steps, so the whole file stays cheap.
FLAGS = ("--stage", "mlp", "--data", "iris", "--eval-every", "5", "--patience", "3")


def _train(framework: str, *flags: str) -> dict:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert MAIN[framework]([*flags, "--json"]) == 0
    return json.loads(out.getvalue())


@pytest.fixture(scope="module")
def stopped(tmp_path_factory):
    """One early-stopped iris run per framework, shared by the tests that only read them."""
    root = tmp_path_factory.mktemp("stopped")
    return {fw: (_train(fw, *FLAGS, "--out", str(root / fw)), root / fw) for fw in ("jax", "torch")}


def test_both_frameworks_stop_at_the_same_step_with_identical_confusion_matrices(stopped):
    (jm, _), (tm, _) = stopped["jax"], stopped["torch"]
    jv, tv = jm["validation"], tm["validation"]
    assert jv["stopped_at_step"] is not None and jv["stopped_at_step"] < 1000
    assert jv["stopped_at_step"] == tv["stopped_at_step"] == jm["steps_this_run"]
    assert jv["best_step"] == tv["best_step"] == jv["stopped_at_step"] - 3 * 5
    assert jm["confusion"] == tm["confusion"] and jm["test_predictions"] == tm["test_predictions"]
    assert jm["val_curve"]["step"] == tm["val_curve"]["step"] == list(range(5, jv["stopped_at_step"] + 1, 5))
    np.testing.assert_allclose(jm["val_curve"]["loss"], tm["val_curve"]["loss"], rtol=1e-4)
    assert jv["rows"] == 21 and jm["rows"] == 84  # 20% of iris's 105 training rows, stratified


@pytest.mark.parametrize("framework", ["jax", "torch"])
def test_the_runs_weights_are_those_of_its_best_evaluation(stopped, framework):
    metrics, folder = stopped[framework]
    v, curve = metrics["validation"], metrics["val_curve"]
    assert curve["step"][int(np.argmin(curve["loss"]))] == v["best_step"]
    assert v["best_loss"] == min(curve["loss"]) and v["since"] == 3
    saved, run_weights = state(folder), weights(folder)
    assert {k for k in saved if k.startswith("adam.")} >= {"adam.step", "adam.mu.layers.0.w", "adam.nu.layers.1.b"}
    for key, value in run_weights.items():  # the run's weights are the best ones, not the last ones
        assert np.array_equal(value, saved[f"best.{key}"])
    assert not np.array_equal(run_weights["layers.0.w"], saved["layers.0.w"])
    assert int(saved["step"]) == v["stopped_at_step"]
    with safe_open(str(folder / "state.safetensors"), framework="np") as f:
        record = json.loads(f.metadata()["run"])["validation"]
    assert record["best_step"] == v["best_step"] and record["since"] == 3
    assert (folder / "loss.png").stat().st_size > 0


def test_a_run_resumed_in_the_other_framework_keeps_its_best_and_its_patience_counter(stopped, tmp_path):
    (whole, _) = stopped["jax"]
    stop = whole["validation"]["stopped_at_step"]
    # Stop short, two evaluations after the best one: a lost counter or a lost best would stop later.
    first = _train("jax", *FLAGS, "--steps", str(stop - 5), "--out", str(tmp_path / "run"))
    assert first["validation"]["stopped_at_step"] is None and first["validation"]["since"] == 2
    resumed = _train("torch", "--resume", str(tmp_path / "run"), "--steps", "1000")
    assert resumed["validation"]["stopped_at_step"] == stop
    assert resumed["validation"]["best_step"] == whole["validation"]["best_step"]
    assert resumed["val_curve"]["step"] == whole["val_curve"]["step"]
    assert resumed["confusion"] == whole["confusion"]


def test_a_stopped_run_resumes_only_with_more_patience(stopped, tmp_path, capsys):
    folder = tmp_path / "run"
    shutil.copytree(stopped["torch"][1], folder)
    code, _, err = run(capsys, "jax", "--resume", str(folder), "--steps", "1000")
    assert code == 2 and len(err.strip().splitlines()) == 1 and "--patience" in err
    stop = stopped["torch"][0]["validation"]["stopped_at_step"]
    more = train(capsys, "jax", "--resume", str(folder), "--steps", str(stop + 5), "--patience", "50")
    assert more["validation"]["since"] == 4 and more["steps_this_run"] == 5


BAD = {  # name: (flags, a word the one-line message must contain)
    "val fraction 1": (["--stage", "mlp", "--val-fraction", "1"], "--val-fraction"),
    "negative val fraction": (["--stage", "mlp", "--val-fraction", "-0.1"], "--val-fraction"),
    "nan val fraction": (["--stage", "mlp", "--val-fraction", "nan"], "--val-fraction"),
    "negative patience": (["--stage", "mlp", "--patience", "-1"], "--patience"),
    "fractional patience": (["--stage", "mlp", "--patience", "2.5"], "--patience"),
    "zero eval-every": (["--stage", "mlp", "--eval-every", "0"], "--eval-every"),
    "negative weight decay": (["--stage", "mlp", "--weight-decay", "-1"], "--weight-decay"),
    "infinite weight decay": (["--stage", "mlp", "--weight-decay", "inf"], "--weight-decay"),
    "patience without a validation split": (["--stage", "mlp", "--val-fraction", "0", "--patience", "5"], "--val-fraction"),
    "validation for a regression stage": (["--stage", "nn", "--val-fraction", "0.2"], "--stage nn"),
    "weight decay for a regression stage": (["--stage", "optim", "--weight-decay", "0.1"], "--weight-decay"),
}


@pytest.mark.parametrize("flags, word", BAD.values(), ids=BAD.keys())
def test_bad_validation_flags_exit_2_with_one_line(capsys, tmp_path, flags, word):
    code, out, err = run(capsys, "jax", *flags, "--out", str(tmp_path / "run"))
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and word in err
    assert not (tmp_path / "run").exists()


def test_a_resume_refuses_another_validation_split(stopped, capsys):
    code, _, err = run(capsys, "torch", "--resume", str(stopped["jax"][1]), "--val-fraction", "0.3")
    assert code == 2 and "--val-fraction" in err and len(err.strip().splitlines()) == 1


# Issue 24: with default flags the mlp is at or above softmax regression on the same split, in both frameworks alike
# (all ten sets: tests/test_defaults.py reads benchmarks/defaults.py's measurement; these four train afresh).
DONE_WHEN = ("iris", "digits", "blobs", "logistic")


@pytest.mark.slow
@pytest.mark.parametrize("name", DONE_WHEN)
def test_default_flags_reach_softmax_regression_in_both_frameworks_alike(tmp_path, name):
    from benchmarks import defaults

    data = name if name in ("iris", "digits") else str(defaults.write(tmp_path, name)[0])
    jm, tm = (_train(fw, "--stage", "mlp", "--data", data, "--out", str(tmp_path / fw)) for fw in ("jax", "torch"))
    linear = defaults.baseline(data, 0.3)
    assert jm["test_accuracy"] >= linear and tm["test_accuracy"] >= linear
    assert jm["confusion"] == tm["confusion"]
    assert jm["validation"]["stopped_at_step"] == tm["validation"]["stopped_at_step"]
    assert jm["validation"]["best_step"] == tm["validation"]["best_step"]
