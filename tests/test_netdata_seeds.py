"""Same seed -> same arrays, whichever framework asks; each init scheme has its framework's distribution."""

import numpy as np
import pytest

from netdata import batches, init, problems


def test_lecture_data_is_a_pure_function_of_the_seed():
    a, b = problems.lecture(seed=3), problems.lecture(seed=3)
    assert all(np.array_equal(u, v) for u, v in zip(a, b))
    assert not np.array_equal(a[0], problems.lecture(seed=4)[0])
    assert a[0].shape == (64, 4) and a[1].shape == (64, 2) and a[0].dtype == np.float32


def test_float64_data_rounds_to_the_float32_data():
    x32, _ = problems.lecture(seed=1, dtype=np.float32)
    x64, _ = problems.lecture(seed=1, dtype=np.float64)
    assert np.array_equal(x64.astype(np.float32), x32)


def test_linear_variant_is_learnable_by_least_squares():
    x, y = problems.linear(seed=0, n=2000, dtype=np.float64)
    xb = np.hstack([x, np.ones((len(x), 1))])
    residual = y - xb @ np.linalg.lstsq(xb, y, rcond=None)[0]
    assert 0.08 < residual.std() < 0.12  # only the 0.1 noise is left


@pytest.mark.parametrize("scheme", init.SCHEMES)
def test_every_scheme_gives_canonical_shapes(scheme):
    w = init.linear(scheme, 5, 3, seed=0)
    assert w["w"].shape == (5, 3) and w["b"].shape == (3,)
    assert "b" not in init.linear(scheme, 5, 3, bias=False)


def test_torch_default_is_uniform_within_one_over_sqrt_fan_in():
    w = init.linear("torch", 100, 200, seed=0)
    assert np.abs(w["w"]).max() <= 0.1 and np.abs(w["b"]).max() <= 0.1
    assert abs(w["w"].std() - 0.1 / np.sqrt(3)) < 2e-3  # std of U(-a, a) is a / sqrt(3)


def test_flax_default_is_lecun_normal_truncated_at_two_sigma_with_zero_bias():
    w = init.linear("flax", 100, 400, seed=0, dtype=np.float64)
    assert abs(w["w"].std() - 0.1) < 2e-3  # variance 1 / fan_in after the truncation correction
    assert np.abs(w["w"]).max() < 2 * 0.1 / 0.87962566103423978
    assert not w["b"].any()


def test_minibatches_cover_each_epoch_once_and_repeat_for_the_same_seed():
    idx = batches.indices(seed=0, n=10, batch_size=3, start=0, steps=6)  # 3 per epoch, row 10 dropped
    for epoch in (idx[:3], idx[3:]):
        assert len(set(epoch.ravel())) == 9
    assert np.array_equal(idx[4:], batches.indices(seed=0, n=10, batch_size=3, start=4, steps=2))
    assert not np.array_equal(idx, batches.indices(seed=1, n=10, batch_size=3, start=0, steps=6))
