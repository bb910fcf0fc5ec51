"""PolynomialLR, CosineAnnealingWarmRestarts, CyclicLR (momentum cycling) and ChainedScheduler follow torch."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch

from equivalence.translate import UnsupportedError, optimizer
from equivalence.translate.compare import float64, run_optimizer
from jaxnet.compiling import fast_jit
from equivalence.translate.schedules import group_schedules

optim = torch.optim
S = torch.optim.lr_scheduler

CASES = {
    "polynomial": lambda o: S.PolynomialLR(o, total_iters=37, power=1.7),
    "polynomial-linear": lambda o: S.PolynomialLR(o, total_iters=120),
    "polynomial-zero-iters": lambda o: S.PolynomialLR(o, total_iters=0),
    "warm-restarts": lambda o: S.CosineAnnealingWarmRestarts(o, T_0=7, eta_min=0.003),
    "warm-restarts-doubling": lambda o: S.CosineAnnealingWarmRestarts(o, T_0=5, T_mult=2, eta_min=0.001),
    "warm-restarts-tripling": lambda o: S.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=3),
    "cyclic-triangular": lambda o: S.CyclicLR(o, 0.01, 0.1, step_size_up=13, step_size_down=7),
    "cyclic-triangular2": lambda o: S.CyclicLR(o, 0.01, 0.1, step_size_up=10, mode="triangular2"),
    "cyclic-exp-range": lambda o: S.CyclicLR(o, 0.01, 0.1, step_size_up=9, mode="exp_range", gamma=0.99),
    "cyclic-no-momentum": lambda o: S.CyclicLR(o, 0.02, 0.05, step_size_up=4, cycle_momentum=False),
    "chained-step-exp-linear": lambda o: S.ChainedScheduler(
        [S.StepLR(o, 10, 0.5), S.ExponentialLR(o, 0.99), S.LinearLR(o, 0.3, 1.0, 25)]
    ),
    "chained-constant-poly-multistep": lambda o: S.ChainedScheduler(
        [S.ConstantLR(o, 0.5, 40), S.PolynomialLR(o, 150, 2.0), S.MultiStepLR(o, [30, 30, 90], 0.7)]
    ),
    "sequential-poly-then-cyclic": lambda o: S.SequentialLR(
        o, [S.PolynomialLR(o, total_iters=20, power=2.0), S.CyclicLR(o, 0.01, 0.1, 6, cycle_momentum=False)],
        milestones=[25],
    ),
}


def torch_and_ours(make, opt_cls, steps=300, **kwargs):
    with float64():
        opt = opt_cls([torch.zeros(3, requires_grad=True)], lr=0.1, **kwargs)
        sched = make(opt)
        (schedule,) = group_schedules(sched, opt)
        counts = jnp.arange(steps)
        ours_lr = np.asarray(fast_jit(jax.vmap(schedule.lr))(counts))
        ours_m = None if schedule.momentum is None else np.asarray(fast_jit(jax.vmap(schedule.momentum))(counts))
        lrs, momenta = [], []
        for _ in range(steps):
            group = opt.param_groups[0]
            lrs.append(group["lr"])
            momenta.append(group["betas"][0] if "betas" in group else group["momentum"])
            opt.step()
            sched.step()
    return np.asarray(lrs), ours_lr, np.asarray(momenta), ours_m


# Every case on SGD's momentum; the cycling ones also on Adam's beta1.
PAIRS = [(name, optim.SGD) for name in sorted(CASES)] + [
    (name, optim.Adam) for name in sorted(CASES) if name.startswith("cyclic-t") or name == "cyclic-exp-range"
]


@pytest.mark.parametrize("name, opt_cls", PAIRS, ids=[f"{n}-{c.__name__}" for n, c in PAIRS])
def test_lr_and_momentum_sequences_match_torch(name, opt_cls):
    kwargs = {"momentum": 0.9} if opt_cls is optim.SGD else {}
    lrs, ours, momenta, ours_m = torch_and_ours(CASES[name], opt_cls, **kwargs)
    np.testing.assert_allclose(ours, lrs, rtol=1e-12, atol=1e-15 * np.max(np.abs(lrs)))
    cycles = name.startswith("cyclic") and "no-momentum" not in name
    assert (ours_m is not None) == cycles
    if cycles:
        np.testing.assert_allclose(ours_m, momenta, rtol=1e-12, atol=1e-15)
        assert np.ptp(momenta) > 0.05  # it really cycles


@pytest.mark.parametrize(
    "opt_cls, kwargs",
    [(optim.SGD, {"momentum": 0.9, "nesterov": True}), (optim.Adam, {})],
)
def test_cyclic_momentum_trajectory(opt_cls, kwargs):
    def make(p):
        opt = opt_cls(p.values(), lr=0.01, **kwargs)
        return opt, S.CyclicLR(opt, 0.001, 0.02, step_size_up=15, mode="triangular2")

    result = run_optimizer(make, steps=80)
    assert result.horizon >= 10 and result.rel_err <= 1e-10, (result.rel_err, result.horizon)


def test_polynomial_lr_reaches_exactly_zero_like_torch():
    lrs, ours, _, _ = torch_and_ours(lambda o: S.PolynomialLR(o, total_iters=37, power=1.7), optim.SGD, 60)
    np.testing.assert_array_equal(ours, lrs)
    assert lrs[37:].max() == 0.0


def test_chained_closed_form_scheduler_is_refused():
    opt = optim.SGD([torch.zeros(2, requires_grad=True)], lr=0.1)
    sched = S.ChainedScheduler([S.StepLR(opt, 3), S.CosineAnnealingLR(opt, 10)])
    with pytest.raises(UnsupportedError, match="multiplicative"):
        optimizer(opt, sched)


def test_cyclic_custom_scale_fn_is_refused():
    opt = optim.SGD([torch.zeros(2, requires_grad=True)], lr=0.1, momentum=0.9)
    sched = S.CyclicLR(opt, 0.01, 0.1, scale_fn=lambda x: 0.5, cycle_momentum=False)
    with pytest.raises(UnsupportedError, match="scale_fn"):
        optimizer(opt, sched)
