"""Property tests: random hyper-parameters for every optimizer family, scheduler and clip_grad_norm_."""

import os

import hypothesis.strategies as st
import jax
import jax.numpy as jnp
import numpy as np
import optax
import torch
from hypothesis import HealthCheck, given, settings

from equivalence.translate.compare import float64, run_optimizer
from jaxnet.compiling import fast_jit
from equivalence.translate.schedules import group_schedules
from equivalence.translate.transforms import clip_grad_norm

optim = torch.optim
S = torch.optim.lr_scheduler
TOL = 1e-10
# Each optimizer example compiles a fresh JAX step and runs torch twice (for the
# horizon), and torch's own suite (test_torch_suite.py) already runs every
# standard configuration, so the default draws one random configuration per
# family; TRANSLATE_EXAMPLES=100 runs a deep search (it passed with 100
# examples per family when this was written).
EXAMPLES = int(os.environ.get("TRANSLATE_EXAMPLES", "1"))
trajectory_settings = settings(
    max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def floats(low, high):
    # XLA on CPU flushes subnormals to zero; torch keeps them. Irrelevant for
    # training, so they are not generated.
    return st.floats(low, high, allow_subnormal=False)


lrs = floats(1e-4, 0.05)
betas1 = floats(0.0, 0.99)
betas2 = floats(0.5, 0.9999)
epsilons = floats(1e-10, 1e-3)
decays = st.one_of(st.just(0.0), floats(1e-4, 0.2))


def check(cls, kwargs):
    result = run_optimizer(lambda params: (cls(params.values(), **kwargs), None))
    assert result.rel_err <= TOL, (cls.__name__, kwargs, result.rel_err)


@st.composite
def sgd_kwargs(draw):
    momentum = draw(st.one_of(st.just(0.0), floats(0.0, 0.95)))
    nesterov = momentum > 0 and draw(st.booleans())
    dampening = 0.0 if nesterov else draw(st.one_of(st.just(0.0), floats(0.0, 1.0)))
    return dict(
        lr=draw(floats(1e-4, 0.1)),
        momentum=momentum,
        dampening=dampening,
        weight_decay=draw(decays),
        nesterov=nesterov,
        maximize=draw(st.booleans()),
    )


@trajectory_settings
@given(sgd_kwargs())
def test_sgd(kwargs):
    check(optim.SGD, kwargs)


@trajectory_settings
@given(
    st.sampled_from([optim.Adam, optim.AdamW]),
    lrs,
    betas1,
    betas2,
    epsilons,
    decays,
    st.booleans(),
    st.booleans(),
    st.booleans(),
)
def test_adam_and_adamw(cls, lr, b1, b2, eps, wd, amsgrad, maximize, decoupled):
    kwargs = dict(lr=lr, betas=(b1, b2), eps=eps, weight_decay=wd, amsgrad=amsgrad, maximize=maximize)
    if cls is optim.Adam:
        kwargs["decoupled_weight_decay"] = decoupled
    check(cls, kwargs)


@trajectory_settings
@given(floats(1e-3, 0.5), floats(0.0, 0.1), decays, floats(0.0, 1.0), epsilons, st.booleans())
def test_adagrad(lr, lr_decay, wd, acc, eps, maximize):
    check(
        optim.Adagrad,
        dict(
            lr=lr,
            lr_decay=lr_decay,
            weight_decay=wd,
            initial_accumulator_value=acc,
            eps=eps,
            maximize=maximize,
        ),
    )


@trajectory_settings
@given(
    floats(1e-4, 0.02),
    floats(0.5, 0.999),
    epsilons,
    decays,
    st.one_of(st.just(0.0), floats(0, 0.9)),
    st.booleans(),
    st.booleans(),
)
def test_rmsprop(lr, alpha, eps, wd, momentum, centered, maximize):
    check(
        optim.RMSprop,
        dict(
            lr=lr,
            alpha=alpha,
            eps=eps,
            weight_decay=wd,
            momentum=momentum,
            centered=centered,
            maximize=maximize,
        ),
    )


@trajectory_settings
@given(lrs, betas1, betas2, epsilons, decays, st.booleans())
def test_adamax(lr, b1, b2, eps, wd, maximize):
    check(optim.Adamax, dict(lr=lr, betas=(b1, b2), eps=eps, weight_decay=wd, maximize=maximize))


@trajectory_settings
@given(lrs, betas1, betas2, epsilons, decays, floats(0.0, 0.02), st.booleans(), st.booleans())
def test_nadam(lr, b1, b2, eps, wd, psi, decoupled, maximize):
    check(
        optim.NAdam,
        dict(
            lr=lr,
            betas=(b1, b2),
            eps=eps,
            weight_decay=wd,
            momentum_decay=psi,
            decoupled_weight_decay=decoupled,
            maximize=maximize,
        ),
    )


@trajectory_settings
@given(lrs, betas1, betas2, epsilons, decays, st.booleans(), st.booleans())
def test_radam(lr, b1, b2, eps, wd, decoupled, maximize):
    check(
        optim.RAdam,
        dict(
            lr=lr,
            betas=(b1, b2),
            eps=eps,
            weight_decay=wd,
            decoupled_weight_decay=decoupled,
            maximize=maximize,
        ),
    )


@trajectory_settings
@given(floats(0.05, 2.0), floats(0.5, 0.99), floats(1e-8, 1e-3), decays, st.booleans())
def test_adadelta(lr, rho, eps, wd, maximize):
    check(optim.Adadelta, dict(lr=lr, rho=rho, eps=eps, weight_decay=wd, maximize=maximize))


# Schedulers: the lr sequence alone, compared value by value (no compilation
# of a training step, so many more examples are affordable).

_SEQUENCE_PARTS = [
    lambda o: S.LinearLR(o, 0.2, 1.0, 30),
    lambda o: S.ExponentialLR(o, 0.98),
    lambda o: S.CosineAnnealingLR(o, 40, 1e-3),
    lambda o: S.StepLR(o, 17, 0.5),
    lambda o: S.ConstantLR(o, 0.3, 10),
    lambda o: S.MultiStepLR(o, [0, 5, 50], 0.7),
]


@st.composite
def schedulers(draw):
    """(description, optimizer -> scheduler); every value is drawn here, up front."""
    kind = draw(st.sampled_from(["step", "multistep", "exp", "cos", "linear", "const", "onecycle", "seq"]))
    ints = st.integers
    if kind == "step":
        args = (draw(ints(1, 60)), draw(floats(0.1, 1.0)))
        return f"StepLR{args}", lambda o: S.StepLR(o, *args)
    if kind == "multistep":
        args = (draw(st.lists(ints(0, 300), max_size=6)), draw(floats(0.1, 1.0)))
        return f"MultiStepLR{args}", lambda o: S.MultiStepLR(o, *args)
    if kind == "exp":
        gamma = draw(floats(0.9, 1.0))
        return f"ExponentialLR({gamma})", lambda o: S.ExponentialLR(o, gamma)
    if kind == "cos":
        args = (draw(ints(1, 150)), draw(floats(0.0, 0.01)))
        return f"CosineAnnealingLR{args}", lambda o: S.CosineAnnealingLR(o, *args)
    if kind == "linear":
        args = (draw(floats(0.01, 1.0)), draw(floats(0.0, 1.0)), draw(ints(0, 120)))
        return f"LinearLR{args}", lambda o: S.LinearLR(o, *args)
    if kind == "const":
        args = (draw(floats(0.01, 1.0)), draw(ints(0, 120)))
        return f"ConstantLR{args}", lambda o: S.ConstantLR(o, *args)
    if kind == "onecycle":
        kwargs = dict(
            max_lr=draw(floats(1e-3, 1.0)),
            total_steps=draw(ints(300, 400)),
            pct_start=draw(floats(0.05, 0.9)),
            anneal_strategy=draw(st.sampled_from(["cos", "linear"])),
            three_phase=draw(st.booleans()),
            div_factor=draw(floats(2.0, 100.0)),
            final_div_factor=draw(floats(2.0, 1e4)),
            base_momentum=draw(floats(0.5, 0.9)),
            max_momentum=draw(floats(0.9, 0.99)),
        )
        return f"OneCycleLR({kwargs})", lambda o: S.OneCycleLR(o, **kwargs)
    milestones = sorted(draw(st.lists(ints(0, 250), min_size=1, max_size=2)))
    parts = draw(
        st.lists(
            ints(0, len(_SEQUENCE_PARTS) - 1), min_size=len(milestones) + 1, max_size=len(milestones) + 1
        )
    )
    return (
        f"SequentialLR(parts={parts}, milestones={milestones})",
        lambda o: S.SequentialLR(o, [_SEQUENCE_PARTS[i](o) for i in parts], milestones),
    )


@settings(max_examples=6 * EXAMPLES, deadline=None)
@given(schedulers(), st.sampled_from([optim.SGD, optim.Adam]), floats(1e-3, 1.0))
def test_scheduler_lr_and_momentum_sequences(scheduler, cls, lr):
    description, make_scheduler = scheduler
    steps = 300
    with float64():
        param = torch.zeros(2, requires_grad=True)
        opt = cls([param], lr=lr, **({"momentum": 0.9} if cls is optim.SGD else {}))
        sched = make_scheduler(opt)
        (schedule,) = group_schedules(sched, opt)
        torch_lr, torch_m = [], []
        for _ in range(steps):
            group = opt.param_groups[0]
            torch_lr.append(group["lr"])
            torch_m.append(group["momentum"] if cls is optim.SGD else group["betas"][0])
            opt.step()
            sched.step()
        counts = jnp.arange(steps)
        ours = np.asarray(fast_jit(jax.vmap(schedule.lr))(counts))
        # XLA may fuse a * b + c into one FMA; where OneCycleLR's anneal nearly
        # cancels, that moves the result by an ulp of the larger term.
        atol = 1e-15 * np.max(np.abs(torch_lr))
        np.testing.assert_allclose(ours, torch_lr, rtol=1e-12, atol=atol, err_msg=description)
        if schedule.momentum is not None:
            momenta = np.asarray(fast_jit(jax.vmap(schedule.momentum))(counts))
            np.testing.assert_allclose(momenta, torch_m, rtol=1e-12, atol=1e-15, err_msg=description)


@settings(max_examples=4 * EXAMPLES, deadline=None)
@given(
    floats(1e-3, 10.0),
    st.sampled_from([2.0, 1.0, 0.5, 3.0, float("inf"), -float("inf"), 0.0]),
    st.integers(0, 2**31 - 1),
    floats(1e-3, 1e3),
)
def test_clip_grad_norm_single_step(max_norm, norm_type, seed, scale):
    rng = np.random.default_rng(seed)
    grads = {
        "w": scale * rng.normal(size=(4, 3)),
        "b": scale * rng.normal(size=(3,)),
        "s": scale * rng.normal(size=1),
    }
    with float64():
        tensors = {k: torch.zeros(v.shape, requires_grad=True) for k, v in grads.items()}
        for k, t in tensors.items():
            t.grad = torch.tensor(grads[k])
        total = torch.nn.utils.clip_grad_norm_(list(tensors.values()), max_norm, norm_type)
        clipped, _ = clip_grad_norm(max_norm, norm_type).update(grads, optax.EmptyState())
        for k, t in tensors.items():
            np.testing.assert_allclose(np.asarray(clipped[k]), t.grad.numpy(), rtol=1e-14, atol=0)
        assert np.isfinite(float(total))
