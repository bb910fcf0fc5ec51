"""The catalogue of configurations the matrix measures: optimizers, schedulers, losses, clipping."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
import torch.nn as nn

from equivalence import tolerance

from .compare import run_loss, run_optimizer

optim = torch.optim
S = torch.optim.lr_scheduler
STEPS = 200
TRAJECTORY_TOL = 1e-10
DEFECT_BOUND = tolerance.DEFECT_ULPS["float64"].rel  # the per-step defect's, as equivalence check's
LOSS_TOL = 1e-12
# (max_norm, norm_type): each clips on roughly 35-70% of the 200 steps, so
# both of torch's branches (scaled, and multiplied by exactly 1) are taken.
CLIP_SETTINGS = [(0.5, 2.0), (0.3, float("inf")), (1.0, 1.5)]


@dataclass(frozen=True)
class Case:
    kind: str  # "optimizer" | "scheduler" | "loss" | "clip"
    name: str
    config: str
    steps: int
    tol: float
    # (error, horizon), measured in float64: trajectories give the worst error relative to the
    # displacement within torch's non-chaotic horizon (steps); losses give (relative error, None).
    measure: Callable[[], tuple[float, int | None]]
    # (class, kwargs) of a plain one-group optimizer row: such rows can also be measured
    # together, one compiled program per class (suite.run_suite), as the tests do.
    spec: tuple[type, dict] | None = None


def measured(result, *extra: float) -> tuple[float, int]:
    """A trajectory's (worst displacement-relative error within the horizon, horizon); inf when a step's
    defect (the translation's step from torch's own state) leaves its bound. A horizon too short to judge
    pointwise is judged by the defect alone, over every step: chaos does not fail a correct translation."""
    if result.defects is not None:
        if not result.defect <= DEFECT_BOUND:
            return float("inf"), result.horizon
        pointwise = float(np.max(result.errors[:result.horizon], initial=0.0))
        return float(np.max([pointwise, *extra])), result.horizon
    return float(np.max([result.rel_err, *extra])), result.horizon  # np.max keeps a NaN


def _fmt(kwargs: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in kwargs.items())


def _optimizer_case(cls, **kwargs) -> Case:
    def make(params):
        return cls(params.values(), **kwargs), None

    return Case(
        "optimizer",
        cls.__name__,
        _fmt(kwargs),
        STEPS,
        TRAJECTORY_TOL,
        lambda: measured(run_optimizer(make, steps=STEPS)),
        (cls, kwargs),
    )


def _groups_case() -> Case:
    def make(params):
        groups = [
            {"params": [params["w"]], "lr": 0.02, "weight_decay": 0.1, "amsgrad": True},
            {"params": [params["b"], params["s"]], "betas": (0.8, 0.99)},
        ]
        return optim.Adam(groups, lr=0.01), None

    labels = {"w": 0, "b": 1, "s": 1}
    config = "[w]: lr=0.02, weight_decay=0.1, amsgrad=True | [b, s]: lr=0.01, betas=(0.8, 0.99)"
    return Case(
        "optimizer",
        "Adam (2 param groups)",
        config,
        STEPS,
        TRAJECTORY_TOL,
        lambda: measured(run_optimizer(make, steps=STEPS, labels=labels)),
    )


def _scheduler_case(opt_cls, opt_kwargs: dict, sched: Callable, name: str, config: str) -> Case:
    def make(params):
        opt = opt_cls(params.values(), **opt_kwargs)
        return opt, sched(opt)

    def measure():
        result = run_optimizer(make, steps=STEPS)
        return measured(result, result.lr_rel_err)

    on = f"{config}; on {opt_cls.__name__}({_fmt(opt_kwargs)})"
    return Case("scheduler", name, on, STEPS, TRAJECTORY_TOL, measure)


def _simple_scheduler(cls, opt_cls=optim.SGD, opt_kwargs=None, **kwargs) -> Case:
    opt_kwargs = opt_kwargs or {"lr": 0.05, "momentum": 0.9}
    return _scheduler_case(opt_cls, opt_kwargs, lambda o: cls(o, **kwargs), cls.__name__, _fmt(kwargs))


def _sequential_case() -> Case:
    def sched(o):
        return S.SequentialLR(
            o,
            [S.LinearLR(o, start_factor=0.1, total_iters=20), S.CosineAnnealingLR(o, T_max=50, eta_min=1e-3)],
            milestones=[20],
        )

    config = (
        "[LinearLR(start_factor=0.1, total_iters=20), CosineAnnealingLR(T_max=50, eta_min=0.001)], "
        "milestones=[20]"
    )
    return _scheduler_case(optim.Adam, {"lr": 0.01}, sched, "SequentialLR", config)


def _clip_case(max_norm: float, norm_type: float) -> Case:
    def make(params):
        return optim.SGD(params.values(), lr=0.05, momentum=0.9), None

    config = f"max_norm={max_norm}, norm_type={norm_type}; on SGD(lr=0.05, momentum=0.9)"
    return Case(
        "clip",
        "clip_grad_norm_",
        config,
        STEPS,
        TRAJECTORY_TOL,
        lambda: measured(run_optimizer(make, steps=STEPS, clip=(max_norm, norm_type))),
    )


def loss_data(seed: int = 0) -> dict[str, np.ndarray]:
    """Fixed inputs: regression pairs, logits with class/probability/ignored targets."""
    rng = np.random.default_rng(seed)
    n, c = 16, 5
    logits = 2.0 * rng.normal(size=(n, c))
    classes = rng.integers(0, c, size=n)
    classes[[2, 7]] = -100  # torch's default ignore_index
    return {
        "x": rng.normal(size=(n, 3)),
        "y": rng.normal(size=(n, 3)),
        "logits": logits,
        "log_probs": logits - np.log(np.exp(logits).sum(axis=1, keepdims=True)),
        "classes": classes,
        "classes_spatial": rng.integers(0, c, size=(n, 4)),
        "logits_spatial": rng.normal(size=(n, c, 4)),
        "probs": rng.dirichlet(np.ones(c), size=n),
        "labels01": rng.uniform(size=(n, 3)),
        "class_weight": rng.uniform(0.2, 2.0, size=c),
    }


def _loss_case(cls, pred_key: str, target_key: str, **kwargs) -> Case:
    def measure():
        data = loss_data()
        built = {k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}
        return run_loss(cls(**built), data[pred_key], data[target_key]).rel_err, None

    shown = {k: ("tensor" if isinstance(v, np.ndarray) else v) for k, v in kwargs.items()}
    config = _fmt(shown) + f"; target={target_key}"
    return Case("loss", cls.__name__, config, 1, LOSS_TOL, measure)


def all_cases() -> list[Case]:
    w = loss_data()["class_weight"]
    return [
        _optimizer_case(optim.SGD, lr=0.05),
        _optimizer_case(optim.SGD, lr=0.05, momentum=0.9, dampening=0.3, weight_decay=0.01),
        _optimizer_case(optim.SGD, lr=0.03, momentum=0.8, nesterov=True, weight_decay=0.1, maximize=True),
        _optimizer_case(optim.Adam, lr=0.01),
        _optimizer_case(optim.Adam, lr=0.01, betas=(0.8, 0.95), weight_decay=0.1, amsgrad=True),
        _optimizer_case(optim.Adam, lr=0.01, weight_decay=0.05, decoupled_weight_decay=True),
        _optimizer_case(optim.AdamW, lr=0.01, weight_decay=0.1),
        _optimizer_case(optim.AdamW, lr=0.01, amsgrad=True, maximize=True),
        _optimizer_case(optim.Adagrad, lr=0.1),
        _optimizer_case(
            optim.Adagrad, lr=0.1, lr_decay=0.01, initial_accumulator_value=0.1, weight_decay=0.01, eps=1e-6
        ),
        _optimizer_case(optim.RMSprop, lr=0.01),
        _optimizer_case(optim.RMSprop, lr=0.005, alpha=0.9, centered=True, momentum=0.9, weight_decay=0.01),
        _optimizer_case(optim.Adamax, lr=0.01, weight_decay=0.01),
        _optimizer_case(optim.NAdam, lr=0.01),
        _optimizer_case(
            optim.NAdam, lr=0.01, weight_decay=0.1, momentum_decay=0.01, decoupled_weight_decay=True
        ),
        _optimizer_case(optim.RAdam, lr=0.01),
        _optimizer_case(optim.RAdam, lr=0.01, weight_decay=0.1, decoupled_weight_decay=True),
        _optimizer_case(optim.Adadelta, lr=1.0, rho=0.95, weight_decay=0.01),
        _groups_case(),
        _simple_scheduler(S.StepLR, step_size=30, gamma=0.5),
        _simple_scheduler(S.MultiStepLR, milestones=[10, 50, 50, 120], gamma=0.5),
        _simple_scheduler(S.ExponentialLR, gamma=0.99),
        _simple_scheduler(S.CosineAnnealingLR, T_max=60, eta_min=0.001),
        _simple_scheduler(S.LinearLR, start_factor=0.25, end_factor=1.0, total_iters=40),
        _simple_scheduler(S.ConstantLR, factor=0.5, total_iters=40),
        _simple_scheduler(S.OneCycleLR, max_lr=0.1, total_steps=200),
        _simple_scheduler(
            S.OneCycleLR,
            optim.Adam,
            {"lr": 0.01},
            max_lr=0.01,
            total_steps=250,
            anneal_strategy="linear",
            three_phase=True,
        ),
        _simple_scheduler(
            S.OneCycleLR, optim.RMSprop, {"lr": 0.01}, max_lr=0.01, total_steps=200, pct_start=0.25
        ),
        _sequential_case(),
        *(_clip_case(max_norm, norm_type) for max_norm, norm_type in CLIP_SETTINGS),
        _loss_case(nn.MSELoss, "x", "y"),
        _loss_case(nn.L1Loss, "x", "y", reduction="sum"),
        _loss_case(nn.HuberLoss, "x", "y", delta=0.7),
        _loss_case(nn.SmoothL1Loss, "x", "y", beta=0.4, reduction="none"),
        _loss_case(nn.CrossEntropyLoss, "logits", "classes"),
        _loss_case(nn.CrossEntropyLoss, "logits", "classes", weight=w, label_smoothing=0.2),
        _loss_case(nn.CrossEntropyLoss, "logits", "classes", weight=w, reduction="none", label_smoothing=0.1),
        _loss_case(nn.CrossEntropyLoss, "logits_spatial", "classes_spatial", weight=w, ignore_index=3),
        _loss_case(nn.CrossEntropyLoss, "logits", "probs", weight=w, label_smoothing=0.3),
        _loss_case(nn.NLLLoss, "log_probs", "classes", weight=w),
        _loss_case(nn.NLLLoss, "log_probs", "classes", reduction="sum"),
        _loss_case(nn.BCEWithLogitsLoss, "x", "labels01"),
        _loss_case(
            nn.BCEWithLogitsLoss, "x", "labels01", pos_weight=np.array([0.5, 2.0, 3.0]), reduction="sum"
        ),
    ]
