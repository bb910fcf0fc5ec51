"""The error is measured relative to the displacement, within torch's non-chaotic horizon."""

import contextlib

import jax
import numpy as np
import optax
import pytest
import torch

from equivalence.translate import compare, optimizer
from equivalence.translate.displacement import MIN_HORIZON, displacement_errors, horizon, within_horizon

optim = torch.optim
TOL = 1e-10


@pytest.mark.parametrize(
    "errors, expected",
    [
        ([1e-13, 1e-12, 5e-11, 1e-13], 2),  # the first step past 1e-11 ends it, for good
        ([1e-13, float("nan"), 0.0], 1),  # NaN ends it
        ([0.0, 1e-12, 1e-11], 3),  # exactly 1e-11 still counts
        ([1.0], 0),
    ],
)
def test_horizon_is_the_leading_run_of_steps_within_1e_11(errors, expected):
    assert horizon(np.asarray(errors)) == expected


def test_a_horizon_too_short_to_judge_gives_nan_which_fails_every_bound():
    errors = np.zeros(50)
    assert within_horizon(errors, MIN_HORIZON) == 0.0
    assert np.isnan(within_horizon(errors, MIN_HORIZON - 1))
    assert within_horizon(np.zeros(3), 3) == 0.0  # a 3-step run is judged on its 3 steps


def test_errors_beyond_the_horizon_are_not_counted():
    assert within_horizon(np.asarray([1e-16] * 12 + [1.0]), 12) == 1e-16


def test_displacement_error_sees_what_the_parameters_hide():
    start = np.full(4, 100.0)
    moved = start + 1e-3 * np.arange(1, 5)
    off = start + 1e-3 * np.arange(1, 5) * (1 + 1e-7)
    err = displacement_errors(moved[None], off[None], start)[0]
    assert np.isclose(err, 1e-7, rtol=1e-3)
    assert compare.rel_err([moved], [off]) < 1e-11  # relative to the weights: invisible


def test_not_moving_at_all_compares_absolutely():
    start = np.ones(3)
    assert displacement_errors(start[None], (start + 1e-9)[None], start)[0] == pytest.approx(np.sqrt(3) * 1e-9)


def test_update_off_by_1e_9_fails_although_the_weights_agree_to_1e_10():
    def make(p):
        return optim.Adam(p.values(), lr=1e-3), None

    naive = optax.adam(1e-3 * (1 + 1e-9), eps_root=0.0)
    result = compare.run_optimizer(make, steps=20, tx=naive)
    assert result.horizon == 20
    assert result.param_rel_err < TOL < result.rel_err


@contextlib.contextmanager
def torch_default_float32_jax_float64():
    """float64 parameters on both sides while torch's default dtype stays float32 (its usual state)."""
    assert torch.get_default_dtype() == torch.float32
    with jax.enable_x64(True), jax.default_matmul_precision("highest"):
        yield


@pytest.mark.parametrize(
    "kwargs", [{"lr": 0.01}, {"weight_decay": 0.1, "momentum_decay": 0.006, "decoupled_weight_decay": True}]
)
def test_nadam_keeps_mu_product_in_torchs_float32_scalar_dtype(monkeypatch, kwargs):
    # Torch keeps NAdam's mu_product in float32 unless its *default* dtype is float64, even for
    # float64 parameters; a float64 product is off by 1.2e-8 of the displacement.
    monkeypatch.setattr(compare, "float64", torch_default_float32_jax_float64)
    result = compare.run_optimizer(lambda p: (optim.NAdam(p.values(), **kwargs), None), steps=60)
    assert result.horizon == 60 and result.rel_err <= TOL, result.rel_err


def test_nadam_state_dtype_follows_torchs_default_at_translation_time():
    p = [torch.zeros(2, dtype=torch.float64, requires_grad=True)]
    with jax.enable_x64(True):
        state32 = optimizer(optim.NAdam(p)).init({"p": jax.numpy.zeros(2)})
        with compare.float64():
            state64 = optimizer(optim.NAdam(p)).init({"p": jax.numpy.zeros(2)})
    products = [s.mu_product.dtype for s in jax.tree.leaves([state32, state64], is_leaf=_is_nadam)
                if _is_nadam(s)]
    assert products == [np.float32, np.float64]


def _is_nadam(node):
    return type(node).__name__ == "TorchNAdamState"
