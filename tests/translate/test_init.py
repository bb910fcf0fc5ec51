"""nn.Linear's default initialisation: same distribution in JAX, exact weights when copied."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import torch
import torch.nn as nn

from equivalence.translate import LinearInit, linear_weights, init
from equivalence.translate.compare import float64

FAN_IN, FAN_OUT = 64, 512


def ks_statistic(a, b):
    """Two-sample Kolmogorov-Smirnov statistic sup |F_a - F_b|."""
    grid = np.sort(np.concatenate([a, b]))
    fa = np.searchsorted(np.sort(a), grid, side="right") / a.size
    fb = np.searchsorted(np.sort(b), grid, side="right") / b.size
    return np.max(np.abs(fa - fb))


def check_uniform(samples, bound):
    """Samples look like U(-bound, bound): support, mean, variance, spread to the edges."""
    n = samples.size
    assert np.all(np.abs(samples) <= bound)
    assert np.max(np.abs(samples)) > bound * (1 - 20 / n)
    sd = bound / math.sqrt(3)
    assert abs(samples.mean()) < 5 * sd / math.sqrt(n)
    # Var of the sample variance of U(-b, b) is (4/45) b^4 / n.
    assert abs(samples.var() - sd**2) < 5 * math.sqrt(4 / 45 / n) * bound**2


def test_linear_init_matches_torch_distribution():
    torch.manual_seed(0)
    layer = nn.Linear(FAN_IN, FAN_OUT)
    scheme = init(layer)
    assert isinstance(scheme, LinearInit) and (scheme.fan_in, scheme.fan_out) == (FAN_IN, FAN_OUT)
    bound = 1 / math.sqrt(FAN_IN)
    with float64():
        kw, kb = jax.random.split(jax.random.key(0))
        w = np.asarray(scheme.w(kw, (FAN_IN, FAN_OUT), jnp.float64))
        b = np.asarray(scheme.b(kb, (FAN_OUT,), jnp.float64))
    assert w.shape == (FAN_IN, FAN_OUT) and w.dtype == np.float64 and b.shape == (FAN_OUT,)
    torch_w = layer.weight.detach().numpy().ravel()
    torch_b = layer.bias.detach().numpy()
    for ours, theirs in ((w.ravel(), torch_w), (b, torch_b)):
        check_uniform(ours, bound)
        check_uniform(theirs, bound)  # the claim about torch's default, checked on torch
        # KS critical value at alpha = 0.001: 1.95 * sqrt((n + m) / (n m)).
        assert ks_statistic(ours, theirs) < 1.95 * math.sqrt(2 / ours.size)


def test_init_distribution_differs_from_lecun_uniform():
    """The test above can fail: JAX's lecun_uniform (bound sqrt(3/fan_in)) is rejected."""
    lecun = np.asarray(jax.nn.initializers.lecun_uniform()(jax.random.key(1), (FAN_IN, FAN_OUT))).ravel()
    torch.manual_seed(1)
    theirs = nn.Linear(FAN_IN, FAN_OUT).weight.detach().numpy().ravel()
    assert ks_statistic(lecun, theirs) > 1.95 * math.sqrt(2 / lecun.size)


def test_linear_weights_layout_and_forward():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(5, 4), nn.Tanh(), nn.Linear(4, 2, bias=False))
    weights = linear_weights(model)
    assert [sorted(w) for w in weights] == [["b", "w"], ["w"]]
    assert weights[0]["w"].shape == (5, 4) and weights[0]["b"].shape == (4,)
    x = np.random.default_rng(0).normal(size=(3, 5)).astype(np.float32)
    h = np.tanh(x @ weights[0]["w"] + weights[0]["b"])
    ours = h @ weights[1]["w"]
    theirs = model(torch.tensor(x)).detach().numpy()
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)
    # A copy, not a view: later torch updates do not leak in.
    with torch.no_grad():
        model[0].weight.add_(1.0)
    assert not np.allclose(weights[0]["w"], model[0].weight.detach().numpy().T)


def test_container_init_lists_every_linear_and_bias_free_layers():
    model = nn.Sequential(nn.Linear(3, 8), nn.ReLU(), nn.Linear(8, 1, bias=False))
    schemes = init(model)
    assert [(s.fan_in, s.fan_out) for s in schemes] == [(3, 8), (8, 1)]
    assert schemes[1].b is None
    single = linear_weights(nn.Linear(2, 3))
    assert single["w"].shape == (2, 3)
