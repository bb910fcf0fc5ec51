"""Loss values and gradients against torch: every class, option and reduction, plus random cases."""

import os

import hypothesis.strategies as st
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
import torch.nn as nn
from hypothesis import given, settings

from equivalence.translate import loss
from equivalence.translate.cases import loss_data
from equivalence.translate.compare import float64, run_loss

TOL = 1e-12
DATA = loss_data()
W = torch.tensor(DATA["class_weight"])
REDUCTIONS = ["mean", "sum", "none"]

MODULES = {
    "mse": (lambda r: nn.MSELoss(reduction=r), "x", "y"),
    "l1": (lambda r: nn.L1Loss(reduction=r), "x", "y"),
    "huber": (lambda r: nn.HuberLoss(reduction=r, delta=0.3), "x", "y"),
    "smooth-l1": (lambda r: nn.SmoothL1Loss(reduction=r, beta=2.0), "x", "y"),
    "smooth-l1-beta0": (lambda r: nn.SmoothL1Loss(reduction=r, beta=0.0), "x", "y"),
    "ce": (lambda r: nn.CrossEntropyLoss(reduction=r), "logits", "classes"),
    "ce-weight-smoothing": (
        lambda r: nn.CrossEntropyLoss(W, reduction=r, label_smoothing=0.25),
        "logits",
        "classes",
    ),
    "ce-ignore-3-spatial": (
        lambda r: nn.CrossEntropyLoss(W, ignore_index=3, reduction=r, label_smoothing=0.1),
        "logits_spatial",
        "classes_spatial",
    ),
    "ce-probs-weight-smoothing": (
        lambda r: nn.CrossEntropyLoss(W, reduction=r, label_smoothing=0.4),
        "logits",
        "probs",
    ),
    "nll": (lambda r: nn.NLLLoss(reduction=r), "log_probs", "classes"),
    "nll-weight-ignore": (
        lambda r: nn.NLLLoss(W, ignore_index=1, reduction=r),
        "log_probs",
        "classes_nonneg",
    ),
    "bce": (lambda r: nn.BCEWithLogitsLoss(reduction=r), "x", "labels01"),
    "bce-weight-posweight": (
        lambda r: nn.BCEWithLogitsLoss(
            weight=torch.tensor([0.2, 1.0, 3.0]), reduction=r, pos_weight=torch.tensor([0.5, 2.0, 4.0])
        ),
        "x",
        "labels01",
    ),
}
DATA["classes_nonneg"] = np.where(DATA["classes"] < 0, 1, DATA["classes"])


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", sorted(MODULES))
def test_value_and_gradient_match(name, reduction):
    make, pred, target = MODULES[name]
    result = run_loss(make(reduction), DATA[pred], DATA[target])
    assert result.value_rel_err <= TOL and result.grad_rel_err <= TOL, result


def test_unbatched_cross_entropy():
    module = nn.CrossEntropyLoss(W, label_smoothing=0.1)
    assert run_loss(module, DATA["logits"][0], np.int64(3)).rel_err <= TOL


def test_weighted_mean_divides_by_the_weights_of_counted_targets():
    """The data distinguishes torch's weighted mean from a naive one (so the tests above can fail)."""
    module = nn.CrossEntropyLoss(W, ignore_index=1)
    target = DATA["classes_nonneg"]
    with float64():
        torch_value = float(module(torch.tensor(DATA["logits"]), torch.tensor(target)))
        ours = float(loss(module)(jnp.asarray(DATA["logits"]), jnp.asarray(target)))
        per = nn.CrossEntropyLoss(W, ignore_index=1, reduction="none")(
            torch.tensor(DATA["logits"]), torch.tensor(target)
        )
    assert abs(ours - torch_value) <= TOL * abs(torch_value)
    naive = float(per.mean())
    assert abs(naive - torch_value) > 1e-3 * abs(torch_value)


def test_all_targets_ignored_gives_nan_like_torch():
    module = nn.NLLLoss()
    target = np.full(16, -100)
    with float64():
        torch_value = float(module(torch.tensor(DATA["log_probs"]), torch.tensor(target)))
        ours = float(loss(module)(jnp.asarray(DATA["log_probs"]), jnp.asarray(target)))
    assert np.isnan(torch_value) and np.isnan(ours)


def test_float32_without_x64_stays_float32_and_close():
    module = nn.CrossEntropyLoss(W.float(), label_smoothing=0.1)  # float32 weight, as a user would have
    logits = DATA["logits"].astype(np.float32)
    ours = loss(module)(jnp.asarray(logits), jnp.asarray(DATA["classes"], dtype=jnp.int32))
    assert ours.dtype == jnp.float32
    expected = float(module(torch.tensor(logits), torch.tensor(DATA["classes"])))
    assert abs(float(ours) - expected) <= 1e-6 * abs(expected)


# Each example compiles its own loss; the parametrized table above covers every option named.
# TRANSLATE_EXAMPLES=100 runs a deep search.
LOSS_EXAMPLES = 4 * int(os.environ.get("TRANSLATE_EXAMPLES", "1"))


@st.composite
def cross_entropy_cases(draw):
    n, c = draw(st.integers(1, 6)), draw(st.integers(2, 5))
    spatial = draw(st.sampled_from([(), (3,), (2, 2)]))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    logits = 3.0 * rng.normal(size=(n, c, *spatial))
    kwargs = dict(
        reduction=draw(st.sampled_from(REDUCTIONS)),
        label_smoothing=draw(st.sampled_from([0.0, 0.05, 0.5, 1.0])),
    )
    if draw(st.booleans()):
        kwargs["weight"] = torch.tensor(rng.uniform(0.1, 3.0, size=c))
    if draw(st.booleans()):
        target = rng.dirichlet(np.ones(c), size=(n, *spatial))
        target = np.moveaxis(target, -1, 1)  # classes on axis 1, like the logits
    else:
        target = rng.integers(0, c, size=(n, *spatial))
        ignore = draw(st.sampled_from([-100, 0]))
        kwargs["ignore_index"] = ignore
        if ignore == -100:
            target[rng.uniform(size=target.shape) < 0.2] = -100
        if (target != ignore).sum() == 0:  # keep at least one counted target (else NaN on both sides)
            target.flat[0] = 1
    return kwargs, logits, target


@settings(max_examples=LOSS_EXAMPLES, deadline=None)
@given(cross_entropy_cases())
def test_cross_entropy_random(case):
    kwargs, logits, target = case
    result = run_loss(nn.CrossEntropyLoss(**kwargs), logits, target)
    assert result.value_rel_err <= TOL and result.grad_rel_err <= TOL, (kwargs, result)


@settings(max_examples=LOSS_EXAMPLES, deadline=None)
@given(st.integers(0, 2**31 - 1), st.sampled_from(REDUCTIONS), st.booleans(), st.booleans())
def test_bce_with_logits_random(seed, reduction, with_weight, with_pos_weight):
    rng = np.random.default_rng(seed)
    logits, target = 4.0 * rng.normal(size=(5, 4)), rng.uniform(size=(5, 4))
    kwargs = {"reduction": reduction}
    if with_weight:
        kwargs["weight"] = torch.tensor(rng.uniform(0.1, 2.0, size=(5, 1)))
    if with_pos_weight:
        kwargs["pos_weight"] = torch.tensor(rng.uniform(0.1, 5.0, size=4))
    result = run_loss(nn.BCEWithLogitsLoss(**kwargs), logits, target)
    assert result.value_rel_err <= TOL and result.grad_rel_err <= TOL, (kwargs, result)


def test_the_loss_is_jittable_and_differentiable_twice():
    fn = loss(nn.HuberLoss(delta=0.5))
    with float64():
        x, y = jnp.asarray(DATA["x"]), jnp.asarray(DATA["y"])
        hess_diag = jax.jit(jax.grad(lambda p: jax.grad(lambda q: fn(q, y))(p).sum()))(x)
    assert hess_diag.shape == x.shape
