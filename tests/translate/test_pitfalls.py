"""Negative controls: the obvious Optax equivalents miss the bound our translations meet.

Each case shows that the trajectory harness sees the difference, so the
positive tests (test_matrix, test_properties, ...) can fail.
"""

import optax
import pytest
import torch

from equivalence.translate.cases import CLIP_SETTINGS
from equivalence.translate.compare import run_optimizer

optim = torch.optim
S = torch.optim.lr_scheduler
TOL = 1e-10


def plain(cls, **kwargs):
    return lambda p: (cls(p.values(), **kwargs), None)


def scheduled(cls, sched, **kwargs):
    def make(p):
        opt = cls(p.values(), **kwargs)
        return opt, sched(opt)

    return make


NAIVE = {
    "Adam(weight_decay) is L2, not optax.adamw": (
        plain(optim.Adam, lr=0.01, weight_decay=0.1),
        lambda: optax.adamw(0.01, weight_decay=0.1),
    ),
    "AdamW defaults: weight_decay 1e-2 vs 1e-4": (plain(optim.AdamW, lr=0.01), lambda: optax.adamw(0.01)),
    "Adagrad: accumulator 0 vs 0.1, eps outside sqrt": (
        plain(optim.Adagrad, lr=0.1),
        lambda: optax.adagrad(0.1),
    ),
    "RMSprop: eps outside sqrt": (plain(optim.RMSprop, lr=0.01), lambda: optax.rmsprop(0.01, decay=0.99)),
    "RMSprop: momentum buffer before the lr": (
        scheduled(optim.RMSprop, lambda o: S.StepLR(o, 20, 0.5), lr=0.01, momentum=0.9),
        lambda: optax.rmsprop(
            optax.exponential_decay(0.01, 20, 0.5, staircase=True),
            decay=0.99,
            eps_in_sqrt=False,
            momentum=0.9,
        ),
    ),
    "AMSGrad: max over raw second moments": (
        plain(optim.Adam, lr=0.01, amsgrad=True),
        lambda: optax.amsgrad(0.01),
    ),
    "NAdam: momentum decay schedule": (plain(optim.NAdam, lr=0.01), lambda: optax.nadam(0.01)),
    "RAdam: eps placement": (plain(optim.RAdam, lr=0.01), lambda: optax.radam(0.01)),
    "SGD: dampening": (
        plain(optim.SGD, lr=0.05, momentum=0.9, dampening=0.5),
        lambda: optax.sgd(0.05, momentum=0.9),
    ),
    "CosineAnnealingLR rises again after T_max": (
        scheduled(optim.SGD, lambda o: S.CosineAnnealingLR(o, 50), lr=0.05),
        lambda: optax.sgd(optax.cosine_decay_schedule(0.05, 50)),
    ),
    "optax schedules divide the int32 count in float32": (
        scheduled(optim.SGD, lambda o: S.LinearLR(o, 0.25, 1.0, 40), lr=0.05),
        lambda: optax.sgd(optax.linear_schedule(0.0125, 0.05, 40)),
    ),
}


@pytest.mark.parametrize("name", sorted(NAIVE))
def test_naive_optax_equivalent_misses_the_bound(name):
    make, naive = NAIVE[name]
    assert run_optimizer(make, tx=naive()).rel_err > 10 * TOL


@pytest.mark.parametrize("max_norm, norm_type", CLIP_SETTINGS)
def test_clip_grad_norm_both_branches_and_naive_global_norm_clip(max_norm, norm_type):
    make = plain(optim.SGD, lr=0.05, momentum=0.9)
    ours = run_optimizer(make, clip=(max_norm, norm_type))
    assert ours.rel_err <= TOL
    clipped = ours.grad_norms > max_norm
    assert 0.2 < clipped.mean() < 0.8  # torch scaled some steps and left others alone
    if norm_type == 2.0:
        # optax.clip_by_global_norm has no 1e-6 in the denominator.
        naive = optax.chain(optax.clip_by_global_norm(max_norm), optax.sgd(0.05, momentum=0.9))
        assert run_optimizer(make, clip=(max_norm, norm_type), tx=naive).rel_err > 10 * TOL
