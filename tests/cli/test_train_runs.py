"""Both training CLIs train, agree with the float64 oracle on unseen files, and resume across frameworks."""

import numpy as np
import pytest
from safetensors.numpy import save_file

from equivalence.lecture import reference
from netdata import batches
from tests.cli.helpers import both, run, state, train, weights

LINEAR = ("manual", "autograd", "nn", "optim", "module")


# The defaults are resolved by framework-neutral code: JAX's 5000 steps are one fast scan, torch's eager
# 5000 steps run under --full.
@pytest.mark.parametrize("framework", ["jax", pytest.param("torch", marks=pytest.mark.slow)])
def test_no_flags_trains_the_lecture_problem_and_writes_a_complete_run_folder(capsys, tmp_path, framework):
    m = train(capsys, framework, "--out", str(tmp_path / "run"))
    assert m["final_loss"] < 0.7 * m["initial_loss"]
    assert m["steps"] == 5000 and m["stage"] == "module" and m["framework"] == framework
    for key in ("compile_s", "train_s", "steps_per_s", "device", "dtype", "loss_curve"):
        assert key in m
    names = {p.name for p in (tmp_path / "run").iterdir()}
    assert {"config.json", "weights.safetensors", "state.safetensors", "metrics.json", "loss.png"} <= names
    assert not [n for n in names if n.startswith(".")]  # no temporary file left behind


def unseen_files(tmp_path, stage: str):
    """Data and weights no test has used: odd sizes, a fresh generator."""
    g = np.random.default_rng(20261129)
    x, y = g.standard_normal((37, 3)), g.standard_normal((37, 2))
    np.savez(tmp_path / "data.npz", x=x, y=y)
    w = {"w": g.standard_normal((3, 2))} | ({} if stage in ("manual", "autograd") else {"b": g.standard_normal(2)})
    save_file(w, str(tmp_path / "init.safetensors"))
    return x, y, w


def oracle(stage: str, x, y, w, lr: float, steps: int, batch: int, seed: int) -> dict:
    """The lecture's rules in float64 NumPy over the shared batch order: independent of both CLIs."""
    t = reference.stage(stage).build(w, lr)
    idx = batches.indices(seed, len(x), batch, 0, steps)
    reference.train(t, x[idx], y[idx])
    return reference.export(t)


@both
@pytest.mark.parametrize("stage", LINEAR)
def test_float64_run_on_unseen_files_matches_the_oracle_within_1e_10(capsys, tmp_path, framework, stage):
    x, y, w = unseen_files(tmp_path, stage)
    lr = {"manual": 1e-3, "autograd": 1e-3}.get(stage, 1e-2)
    train(capsys, framework, "--stage", stage, "--data", str(tmp_path / "data.npz"), "--init",
          str(tmp_path / "init.safetensors"), "--dtype", "float64", "--steps", "40", "--batch-size", "8",
          "--lr", str(lr), "--seed", "5", "--chunk", "16", "--out", str(tmp_path / "run"))
    got, want = state(tmp_path / "run"), oracle(stage, x, y, w, lr, 40, 8, 5)
    for k, v in want.items():
        assert np.linalg.norm(got[k] - v) <= 1e-10 * np.linalg.norm(v), k


@both
def test_resuming_a_run_equals_one_straight_run_bit_for_bit(capsys, tmp_path, framework):
    common = ["--stage", "optim", "--batch-size", "16", "--chunk", "25", "--data", "linear"]
    train(capsys, framework, *common, "--steps", "100", "--out", str(tmp_path / "straight"))
    train(capsys, framework, *common, "--steps", "50", "--out", str(tmp_path / "split"))
    m = train(capsys, framework, "--resume", str(tmp_path / "split"), "--steps", "100")
    assert m["resumed_from_step"] == 50 and m["steps_this_run"] == 50
    a, b = state(tmp_path / "straight"), state(tmp_path / "split")
    assert a.keys() == b.keys()
    for k in a:
        assert np.array_equal(a[k], b[k]), k


@pytest.mark.parametrize("first,second", [("torch", "jax"), ("jax", "torch")])
def test_a_run_started_in_one_framework_resumes_in_the_other(capsys, tmp_path, first, second):
    common = ["--stage", "module", "--batch-size", "16", "--dtype", "float64", "--data", "linear", "--chunk", "20"]
    train(capsys, second, *common, "--steps", "80", "--out", str(tmp_path / "straight"))
    train(capsys, first, *common, "--steps", "40", "--out", str(tmp_path / "split"))
    m = train(capsys, second, "--resume", str(tmp_path / "split"), "--steps", "80")
    assert m["framework"] == second and m["resumed_from_step"] == 40
    a, b = state(tmp_path / "straight"), state(tmp_path / "split")
    for k in a:
        assert np.linalg.norm(a[k] - b[k]) <= 1e-12 * max(np.linalg.norm(a[k]), 1e-300), k


@both
def test_same_command_twice_gives_identical_weight_files(capsys, tmp_path, framework):
    for name in ("a", "b"):
        train(capsys, framework, "--stage", "nn", "--batch-size", "8", "--steps", "300", "--out", str(tmp_path / name))
    assert (tmp_path / "a/weights.safetensors").read_bytes() == (tmp_path / "b/weights.safetensors").read_bytes()


@both
def test_resume_refuses_a_flag_that_changes_the_computation(capsys, tmp_path, framework):
    train(capsys, framework, "--stage", "nn", "--steps", "10", "--out", str(tmp_path / "r"))
    code, out, err = run(capsys, framework, "--resume", str(tmp_path / "r"), "--steps", "20", "--lr", "0.5")
    assert code == 2 and err.count("\n") == 1 and "--lr" in err
    assert weights(tmp_path / "r")  # the run is untouched and still readable
