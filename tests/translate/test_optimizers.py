"""Trajectories of configurations beyond the matrix: flags, tensors, param groups, edge settings."""

import pytest
import torch

from equivalence.translate.compare import run_optimizer

optim = torch.optim
S = torch.optim.lr_scheduler
TOL = 1e-10


def _plain(cls, **kwargs):
    return lambda params: (cls(params.values(), **kwargs), None)


CONFIGS = {
    # foreach=True takes torch's multi-tensor code path: same math, other op order.
    "sgd-foreach-dampening-only": _plain(optim.SGD, lr=0.04, momentum=0.5, dampening=0.9, foreach=True),
    "sgd-tensor-lr": _plain(optim.SGD, lr=torch.tensor(0.03), momentum=0.9, weight_decay=0.01),
    "adam-foreach-maximize": _plain(optim.Adam, lr=0.02, betas=(0.5, 0.9), maximize=True, foreach=True),
    "adam-amsgrad-decoupled": _plain(
        optim.Adam, lr=0.01, amsgrad=True, weight_decay=0.2, decoupled_weight_decay=True
    ),
    "adagrad-maximize-foreach": _plain(
        optim.Adagrad, lr=0.2, maximize=True, foreach=True, initial_accumulator_value=1.0
    ),
    "adadelta-maximize-foreach": _plain(
        optim.Adadelta, lr=0.5, rho=0.5, eps=1e-4, maximize=True, foreach=True
    ),
}


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_trajectory_matches(name):
    result = run_optimizer(CONFIGS[name])
    assert result.rel_err <= TOL, result.rel_err


def test_three_param_groups_with_labels_and_one_scheduler():
    def make(p):
        opt = optim.SGD(
            [
                {"params": [p["w"]], "lr": 0.05, "momentum": 0.9, "nesterov": True},
                {"params": [p["b"]], "lr": 0.02, "momentum": 0.5, "dampening": 0.5, "weight_decay": 0.1},
                {"params": [p["s"]], "lr": 0.1},
            ],
            lr=0.01,
        )
        return opt, S.OneCycleLR(opt, max_lr=[0.1, 0.05, 0.2], total_steps=200)

    result = run_optimizer(make, labels={"w": 0, "b": 1, "s": 2})
    assert result.rel_err <= TOL
    assert result.lr_rel_err <= 1e-13
    assert result.torch_lrs.shape == (200, 3)


def test_label_function_is_accepted():
    def make(p):
        return optim.Adam([{"params": [p["w"]]}, {"params": [p["b"], p["s"]], "lr": 0.003}], lr=0.01), None

    labels = lambda params: {k: 0 if k == "w" else 1 for k in params}  # noqa: E731
    assert run_optimizer(make, labels=labels).rel_err <= TOL


def test_identical_groups_need_no_labels():
    def make(p):
        return optim.RMSprop(
            [{"params": [p["w"]]}, {"params": [p["b"], p["s"]]}], lr=0.01, momentum=0.3
        ), None

    assert run_optimizer(make).rel_err <= TOL


def test_fresh_adagrad_state_is_accepted_even_though_torch_fills_it_eagerly():
    def make(p):
        opt = optim.Adagrad(p.values(), lr=0.1, initial_accumulator_value=0.3)
        assert len(opt.state) == 3  # torch creates it in __init__
        return opt, None

    assert run_optimizer(make).rel_err <= TOL


def test_longer_trajectory_and_other_data():
    make = _plain(optim.NAdam, lr=0.005, weight_decay=0.01, decoupled_weight_decay=True)
    assert run_optimizer(make, steps=300, seed=3).rel_err <= TOL
