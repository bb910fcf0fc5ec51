"""The per-step defect: correct steps stay at the ulp level past any chaos horizon, a wrong step fails at its own step."""

from types import SimpleNamespace

import numpy as np
import pytest
import torch

import torchnet.manual
from equivalence import tolerance
from equivalence.lecture import defect, horizon, record
from equivalence.lecture.check import compare_stage
from equivalence.lecture.stages import Setup, row
from netdata.problems import BETAS, EPS

# Adam at lr 0.05 on the lecture's problem, float64: a one-ulp nudge of the oracle leaves 1e-12 at step 604.
CHAOTIC = Setup(dtype="float64", steps=650, lr=0.05, regime="custom")
BOUND = tolerance.DEFECT_ULPS["float64"].rel


def trajectory(results):
    return {r["pair"]: r for r in results if r["quantity"] == "trajectory"}


def planted_adam(monkeypatch, bug: str, start: int):
    """torch.optim.Adam with one formula changed from step `start` (0-based) on: the wrong update replaces the right one."""
    real = torch.optim.Adam.step
    late: dict = {}

    def step(self, closure=None):
        before = [p.detach().clone() for g in self.param_groups for p in g["params"]]
        out = real(self, closure)
        with torch.no_grad():
            for p, b in zip((p for g in self.param_groups for p in g["params"]), before):
                st, lr = self.state[p], self.param_groups[0]["lr"]
                k = int(st["step"])
                if k - 1 < start:
                    continue
                m, v = st["exp_avg"], st["exp_avg_sq"]
                (b1, b2), right = BETAS, p - b
                if bug == "bias correction in float32":
                    c1 = float(np.float32(1) - np.float32(b1) ** np.float32(k))
                    c2 = float(np.float32(1) - np.float32(b2) ** np.float32(k))
                    p.copy_(b - lr * (m / c1) / ((v / c2).sqrt() + EPS))
                elif bug == "eps inside the square root":
                    p.copy_(b - lr * (m / (1 - b1**k)) / (v / (1 - b2**k) + EPS).sqrt())
                elif bug == "update one step late":
                    p.copy_(b + late.get(id(p), torch.zeros_like(p)))
                    late[id(p)] = right.clone()
        return out

    monkeypatch.setattr(torch.optim.Adam, "step", step)


def torch_defects(stage: str, setup: Setup) -> defect.Defects:
    r = row(stage)
    weights, x, y = r.problem(setup)
    xs = torch.from_numpy(np.ascontiguousarray(np.broadcast_to(x, (setup.steps, *x.shape))))
    ys = torch.from_numpy(np.ascontiguousarray(np.broadcast_to(y, (setup.steps, *y.shape))))
    run = record.torch_run(r.torch, r.torch.build(weights, setup.lr), xs, ys, lambda t: t.detach().numpy())
    return defect.defects(r.reference, run.states, x, y, setup.lr)


@pytest.mark.parametrize("bug", ["bias correction in float32", "eps inside the square root", "update one step late"])
def test_a_wrong_adam_step_fails_at_its_first_step_with_the_array_named(monkeypatch, bug):
    planted_adam(monkeypatch, bug, start=0)
    d = torch_defects("optim", Setup(dtype="float64", steps=50, lr=3e-2, regime="custom"))
    first = d.first_above(BOUND)
    assert first is not None and d.steps[first] == 0, (bug, d.ulps[:5])
    assert d.worst[first] in ("w", "b"), d.worst[first]
    assert d.ulps[first] > 1e3 * BOUND


def test_a_wrong_step_past_the_horizon_fails_at_that_step_where_the_losses_are_not_compared(monkeypatch):
    planted_adam(monkeypatch, "eps inside the square root", start=620)
    traj = trajectory(compare_stage(row("optim"), CHAOTIC))
    for pair in ("torch-jax", "torch-reference"):
        r = traj[pair]
        assert r["horizon"] < 620 and r["first_bad_step"] is None  # pointwise blind: the losses are cut at the horizon
        assert not r["passed"] and r["defect_step"] == 620 and r["defect_array"] in ("w", "b"), r
    assert traj["jax-reference"]["passed"]


def test_correct_stages_stay_at_the_ulp_level_past_the_horizon_and_the_oracle_reproduces_itself():
    traj = trajectory(compare_stage(row("optim"), CHAOTIC))
    assert all(r["passed"] for r in traj.values()), traj
    assert traj["torch-jax"]["horizon"] < CHAOTIC.steps
    assert max(r["defect_ulps"] for r in traj.values()) <= 8


def test_the_oracle_stepping_all_states_at_once_is_the_oracle_stepping_each():
    setup = Setup(dtype="float32", steps=40, lr=1e-2)
    r = row("mlp")
    weights, x, y = r.problem(setup)
    runs = horizon.run(r.reference, weights, x, y, setup.lr, setup.steps, keep=range(41))
    before = {n: np.stack([runs.states[k][n] for k in range(40)]) for n in runs.states[0]}
    after = {n: np.stack([runs.states[k + 1][n] for k in range(40)]) for n in runs.states[0]}
    d = defect.defects_of(r.reference, before, after, np.arange(40), x, y, setup.lr)
    assert d.max <= 1.0, d.ulps


def test_a_run_that_diverges_in_all_three_passes_and_says_where():
    traj = trajectory(compare_stage(row("manual"), Setup(dtype="float64", steps=1400, lr=3e-2, regime="custom")))
    for r in traj.values():
        assert r["passed"], r
        k = r["diverged"][0]
        assert k is not None and r["diverged"] == [k, k, k] and 300 < k < 1400  # the loss overflows at 605
        assert r["defect_checked"] == k  # every step up to it


def test_one_side_diverging_alone_fails_naming_the_step(monkeypatch):
    real = torchnet.manual.train

    def train(trainer, xs, ys):  # recorded one step a call: step 30 (the 31st) sends torch's weights to inf
        trainer, losses = real(trainer, xs, ys)
        train.calls += 1
        if train.calls == 31:
            trainer.w.mul_(float("inf"))
        return trainer, losses

    train.calls = 0
    names = ("build", "predict", "loss_and_grads", "export")
    bad = row("manual")._replace(torch=SimpleNamespace(**{n: getattr(torchnet.manual, n) for n in names}, train=train))
    traj = trajectory(compare_stage(bad, Setup(dtype="float64", steps=60, lr=1e-3, regime="custom")))
    for pair in ("torch-jax", "torch-reference"):
        assert not traj[pair]["passed"] and traj[pair]["diverged"][0] == 30, traj[pair]
    assert traj["jax-reference"]["passed"]


@pytest.mark.slow
@pytest.mark.parametrize("bug", ["bias correction in float32", "eps inside the square root", "update one step late"])
def test_a_wrong_adam_step_deep_in_a_chaotic_5000_step_run_fails_at_its_step(monkeypatch, bug):
    setup = Setup(dtype="float64", steps=5000, lr=1e-2, regime="custom")
    r = row("optim")
    weights, x, y = r.problem(setup)
    h = horizon.run(r.reference, weights, x, y, setup.lr, setup.steps).horizon(tolerance.TOLERANCES["float64"].rel)
    assert h < 3000  # 2890: past it the losses are not compared pointwise
    planted_adam(monkeypatch, bug, start=3000)
    d = torch_defects("optim", setup)
    first = d.first_above(BOUND)
    assert first is not None and d.steps[first] == 3000 and d.worst[first] in ("w", "b"), (bug, d.max)


def test_the_defect_counts_in_the_ulp_of_each_modes_arithmetic():
    assert tolerance.EPS["float64"] == np.finfo(np.float64).eps and tolerance.EPS["float32"] == np.finfo(np.float32).eps
    assert tolerance.EPS["tf32"] == 2.0**-10  # TF32 matmuls keep 10 mantissa bits: not a float32 side's ulp
    assert set(tolerance.EPS) == set(tolerance.TOLERANCES) == set(tolerance.DEFECT_ULPS)


def test_a_float32_run_diverging_a_few_steps_apart_from_the_oracle_passes():
    # float32 sums overflow before the oracle's float64 ones (616 against 621); the float32 gradient rounds by
    # ~1e-6 of itself each step and the unstable run carries it: losses are compared only as far as that allows.
    traj = trajectory(compare_stage(row("manual"), Setup(dtype="float32", steps=700, lr=3e-2, seed=1, regime="custom")))
    for r in traj.values():
        assert r["passed"], r
        assert r["diverged"][:2] == [616, 616] and 616 <= r["diverged"][2] <= 630
        assert r["compared_steps"] < 616
