"""The chaos horizon: nudged oracle runs measure how far rounding can carry a run, and excuse no bug inside it."""

import numpy as np
import pytest
import torch

from equivalence.lecture import horizon
from equivalence.lecture.check import check_all, compare_stage
from equivalence.lecture.stages import REGIMES, Setup, in_regime, row

# Adam at lr 0.05 on the lecture's problem: a one-ulp nudge of the oracle leaves 1e-12 at step 604,
# so 650 steps run past the horizon and stay cheap.
CHAOTIC = Setup(dtype="float64", steps=650, lr=0.05, regime="custom")


def nudged(stage: str, setup: Setup, runs: int = horizon.NUDGES + 1) -> horizon.Nudged:
    r = row(stage)
    weights, x, y = r.problem(setup)
    return horizon.run(r.reference, weights, x, y, setup.lr, setup.steps, runs)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_nudged_copies_differ_from_the_start_by_exactly_one_ulp_of_its_dtype(dtype):
    w = {"w": np.linspace(-2, 3, 12, dtype=dtype).reshape(3, 4), "b": np.array([0.0, 1.0], dtype=dtype)}
    out = horizon.nudge(w, runs=4)
    for k, v in w.items():
        assert out[k].shape == (4, *v.shape) and out[k].dtype == dtype
        assert np.array_equal(out[k][0], v)
        ulps = np.abs(out[k][1:] - v) / np.spacing(np.maximum(np.abs(v), np.abs(out[k][1:])))
        assert np.all((ulps > 0) & (ulps <= 1)), ulps


@pytest.mark.parametrize("stage", ["optim", "mlp"])
def test_each_batched_run_is_the_oracle_from_its_own_start(stage):
    setup = Setup(dtype="float64", steps=30, lr=1e-2)
    r = row(stage)
    weights, x, y = r.problem(setup)
    runs = nudged(stage, setup, runs=3)
    start = horizon.nudge(weights, runs=3)
    for i in range(3):
        alone = r.reference.build({k: v[i] for k, v in start.items()}, setup.lr)
        _, losses = r.reference.train(alone, x[None].repeat(30, 0), y[None].repeat(30, 0))
        np.testing.assert_allclose(runs.losses[i], losses, rtol=1e-14)


@pytest.mark.parametrize("case, distance, horizon_, growth", [
    ("stays inside", np.full(2000, 1e-16), 2000, 1.0),
    ("ten per hundred steps", 1e-16 * 10.0 ** ((np.arange(2000) + 0.5) / 100), 400, 1e10),
    ("outside from the start", np.full(50, 1.0), 0, 1.0),
    ("NaN counts as outside", np.r_[np.full(10, 1e-16), np.nan], 10, 1.0),
])
def test_horizon_is_the_first_step_whose_nudge_leaves_tolerance(case, distance, horizon_, growth):
    runs = horizon.Nudged(np.zeros((2, len(distance))), np.zeros(2), distance, None)
    assert runs.horizon(1e-12) == horizon_, case
    assert runs.growth(1e-12) == pytest.approx(growth, rel=1e-6), case


def test_the_lecture_settings_are_predictable_for_the_whole_run_and_adam_at_lr_0_05_is_not():
    assert nudged("optim", in_regime(CHAOTIC, "lecture", "optim", None)).horizon(1e-12) == CHAOTIC.steps
    chaotic = nudged("optim", CHAOTIC)
    assert 0 < chaotic.horizon(1e-12) < CHAOTIC.steps
    assert chaotic.growth(1e-12) > 10


def test_a_float32_mlp_names_the_relu_unit_whose_branch_a_nudge_flips():
    runs = nudged("mlp", Setup(dtype="float32", steps=120, lr=1e-2))
    assert runs.relu_flip is not None
    step, layer, unit = runs.relu_flip
    assert step <= runs.horizon(1e-5) + 5 and layer in (0, 1) and 0 <= unit < 16


def test_a_1e_9_bias_in_torchs_adam_update_fails_inside_the_horizon(monkeypatch):
    real = torch.optim.Adam.step

    def biased(self, closure=None):
        before = [p.detach().clone() for g in self.param_groups for p in g["params"]]
        out = real(self, closure)
        with torch.no_grad():
            for p, b in zip((p for g in self.param_groups for p in g["params"]), before):
                p.add_((p - b) * 1e-9)
        return out

    monkeypatch.setattr(torch.optim.Adam, "step", biased)
    traj = {r["pair"]: r for r in compare_stage(row("optim"), CHAOTIC) if r["quantity"] == "trajectory"}
    assert traj["jax-reference"]["passed"]
    for pair in ("torch-jax", "torch-reference"):
        r = traj[pair]
        assert not r["passed"] and r["horizon"] < CHAOTIC.steps
        assert r["first_bad_step"] is not None and r["first_bad_step"] < r["horizon"], r


def test_the_default_check_runs_every_stage_in_both_regimes_and_every_row_says_which():
    results = check_all(["nn"], Setup(dtype="float64", steps=20), train_steps=None)
    assert {(r["regime"], r["lr"]) for r in results} == {("lecture", 1e-6), ("train", 0.1)}
    assert len(results) == 2 * 12 and all(r["passed"] for r in results), [r for r in results if not r["passed"]]
    assert all(r["horizon"] == 20 for r in results if r["quantity"] == "trajectory")
    assert set(REGIMES) == {"lecture", "train"}


def test_check_refuses_an_unknown_regime_with_one_line_and_exit_2(capsys):
    from equivalence.cli import main

    with pytest.raises(SystemExit) as bad:
        main(["check", "--regime", "chaos"])
    err = capsys.readouterr().err
    assert bad.value.code == 2 and len(err.strip().splitlines()) == 1 and "--regime" in err
