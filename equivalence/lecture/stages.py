"""The table equivalence runs: stage name -> (torchnet module, jaxnet module, float64 reference, problem)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from types import ModuleType, SimpleNamespace
from typing import NamedTuple

import numpy as np

from equivalence.lecture import reference, reference_cnn, reference_mlp
from netdata import images, init, problems
from netdata.stages import LINEAR, NAMES, STAGES as TABLE
from training import stages


@dataclass(frozen=True)
class Setup:
    """One equivalence run: every side gets the same data and weights, cast to `dtype`."""

    dtype: str = "float32"
    device: str = "cpu"
    precision: str = "highest"
    steps: int = problems.LECTURE_STEPS
    lr: float = problems.LECTURE_LR
    seed: int = 0
    n: int = problems.N
    din: int = problems.DIN
    dout: int = problems.DOUT
    regime: str = "lecture"  # which REGIMES entry set lr (or "custom": --lr)


Problem = Callable[[Setup], tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]]


class Row(NamedTuple):
    name: str
    torch: ModuleType | SimpleNamespace
    jax: ModuleType | SimpleNamespace
    reference: ModuleType | SimpleNamespace
    problem: Problem  # setup -> (initial weights, x, y)


def linear_problem(bias: bool) -> Problem:
    """The lecture's data and its standard-normal start (randn), in the setup's dtype."""

    def make(s: Setup):
        x, y = problems.lecture(s.seed, s.n, s.din, s.dout, dtype=s.dtype)
        return init.linear("randn", s.din, s.dout, s.seed, bias=bias, dtype=s.dtype), x, y

    return make


def mlp_problem(s: Setup):
    """The lecture's x, int64 labels in 0..dout-1 (dout = number of classes), nn.Linear's start."""
    x, labels = problems.classification(s.seed, s.n, s.din, s.dout, dtype=s.dtype)
    return init.mlp("torch", [s.din, *problems.MLP_HIDDEN, s.dout], s.seed, dtype=s.dtype), x, labels


def cnn_problem(s: Setup):
    """The first n digits as (n, 1, 8, 8) images scaled to 0..1, their labels, a small CNN's PyTorch start.

    Four and eight channels keep the oracle's hand-written convolutions quick; the layers are the lesson's.
    BatchNorm starts a little off its defaults (scale 1, bias 0, running mean 0 and variance 1), as a resumed run
    would: the chaos horizon nudges every array by one ulp, and a one-ulp nudge of an exact 0 is a denormal,
    infinitely far in relative terms, which would put the horizon at step 0.
    """
    digits = images.digits()
    x = (digits.x[:s.n] / 16.0).astype(s.dtype)
    weights = init.cnn("torch", [1, *CNN_CHECK_CHANNELS], 2 * 2 * CNN_CHECK_CHANNELS[-1], digits.num_classes,
                       s.seed, dtype=s.dtype)
    g = problems.rng(s.seed, problems.WEIGHT_STREAM, len(CNN_CHECK_CHANNELS) + 1)
    for i, c in enumerate(CNN_CHECK_CHANNELS):
        for k, base in (("scale", 1.0), ("bias", 0.0), ("mean", 0.0), ("var", 1.0)):
            weights[f"bn.{i}.{k}"] = (base + 0.1 * g.uniform(-1, 1, c)).astype(s.dtype)
    return weights, x, digits.labels[:s.n]


CNN_CHECK_CHANNELS = (4, 8)
LINEAR_STAGES = LINEAR
OTHER_STAGES = {"mlp": (reference_mlp.stage(), mlp_problem), "cnn": (reference_cnn.stage(), cnn_problem)}  # name -> (its own reference, its problem)
STAGES = NAMES


# The default check runs every stage twice: at the lecture's lr, where almost nothing moves, and at
# an lr where the loss falls to below half within TRAIN_STEPS (measured with the oracle, float32 and
# float64 alike: manual/autograd 268.5 -> 59.2, nn/optim/module 8.19 -> 0.91, mlp 0.76 -> 1.6e-5).
# 1000 steps reach each minimum; every step's defect is checked, so a longer run repeats the same
# check (--steps runs any length). The cnn's oracle (hand-written convolutions in NumPy) takes 2-7 ms a
# step, so the default check runs it for CHECK_STEPS["cnn"]; together within 60 s on 2 cores.
TRAIN_LR = {name: stage.check_lr for name, stage in TABLE.items()}
TRAIN_STEPS = 1000
CHECK_STEPS = {name: stage.check_steps for name, stage in TABLE.items() if stage.check_steps}
REGIMES = ("lecture", "train")


def in_regime(setup: Setup, regime: str, stage: str, train_steps: int | None = TRAIN_STEPS) -> Setup:
    """The setup of one regime for one stage: the lecture's lr or the stage's training lr; with train_steps
    (the default check) both regimes run that many steps (the cnn CHECK_STEPS), without it setup.steps."""
    steps = setup.steps if train_steps is None else CHECK_STEPS.get(stage, train_steps)
    lr = problems.LECTURE_LR if regime == "lecture" else TRAIN_LR[stage]
    return replace(setup, regime=regime, lr=lr, steps=steps)


def row(name: str) -> Row:
    """Adding a stage is one file per framework, one reference and one name in a tuple."""
    ref, problem = OTHER_STAGES.get(name) or (reference.stage(name), linear_problem(reference.SPECS[name].bias))
    return Row(
        name=name,
        torch=stages.module("torch", name),
        jax=stages.module("jax", name),
        reference=ref,
        problem=problem,
    )
