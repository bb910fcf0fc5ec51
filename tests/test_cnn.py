"""The cnn stage: the oracle's hand-written backward, canonical layouts at each framework's boundary, BatchNorm's
running statistics, shared dropout masks, and both frameworks against the oracle."""

import numpy as np
import pytest
import torch

from equivalence.lecture import reference_cnn as ref
from equivalence.lecture.check import compare_stage
from equivalence.lecture.stages import Setup, row
from netdata import dropout, images, init, problems
from torchnet import cnn as tcnn
from torchnet.device import numpy as tnumpy
from torchnet.device import tensor

CHANNELS = [1, 2, 3]  # tiny: the tests prove conventions, not accuracy


def tiny(n: int = 6, side: int = 4, seed: int = 0):
    """(float64 weights, x (n, 1, side, side), labels) for a CNN of CHANNELS on the first digits, cut to side."""
    x = images.digits().x[:n, :, :side, :side] / 16.0 + np.random.default_rng(seed).normal(0, 0.1, (n, 1, side, side))
    weights = init.cnn("torch", CHANNELS, init.cnn_features(CHANNELS, side, side), 10, seed=seed, dtype=np.float64)
    return weights, x, images.digits().labels[:n]


def test_the_oracle_backward_pass_matches_central_differences():
    weights, x, labels = tiny()
    t = ref.build(weights, 1e-2)
    _, grads = ref.loss_and_grads(t, x, labels)
    g = np.random.default_rng(1)
    for name in grads:
        for _ in range(2):
            i = tuple(g.integers(0, s) for s in t.params[name].shape)
            h = 1e-6
            losses = []
            for sign in (1, -1):
                t.params[name][i] += sign * h
                losses.append(float(ref.loss_and_grads(t, x, labels)[0]))
                t.params[name][i] -= sign * h
            assert grads[name][i] == pytest.approx((losses[0] - losses[1]) / (2 * h), rel=1e-5, abs=1e-9), name


def test_the_oracle_batched_over_runs_computes_what_each_run_computes_alone():
    weights, x, labels = tiny()
    single, batched = ref.build(weights, 1e-2), ref.build(weights, 1e-2)
    batched.params = {k: np.stack([v, v * 1.01]) for k, v in batched.params.items()}
    for k in batched.mu:
        batched.mu[k], batched.nu[k] = np.zeros_like(batched.params[k]), np.zeros_like(batched.params[k])
    _, losses = ref.train(batched, x[None], labels[None])
    _, alone = ref.train(single, x[None], labels[None])
    assert losses[0, 0] == alone[0]
    for k, v in single.params.items():
        np.testing.assert_array_equal(batched.params[k][0], v)


@pytest.mark.parametrize("side", [4, 5, 8])  # 5: the pools drop an odd last row and column, as both frameworks do
def test_torch_takes_canonical_hwio_weights_in_and_gives_them_back_unchanged(side):
    weights, x, _ = tiny(side=side)
    trainer = tcnn.build(weights, 1e-2)
    assert trainer.model.convs[1].weight.shape == (3, 2, 3, 3)  # OIHW inside PyTorch
    out = tcnn.export(trainer)
    for k, v in weights.items():
        np.testing.assert_array_equal(out[k], v, err_msg=k)
    with torch.no_grad():
        logits = tnumpy(tcnn.predict(trainer, tensor(x)))
    np.testing.assert_allclose(logits, ref.predict(ref.build(weights, 1e-2), x), rtol=1e-12, atol=1e-12)


def test_one_torch_step_matches_the_oracle_running_statistics_and_dropout_included():
    """Running variance: PyTorch's unbiased batch variance, momentum 0.1, which the oracle spells out."""
    weights, x, labels = tiny(n=8)
    trainer, oracle = tcnn.build(weights, 1e-2), ref.build(weights, 1e-2)
    _, losses = tcnn.train(trainer, tensor(x[None]), tensor(labels[None]))
    _, expected = ref.train(oracle, x[None], labels[None])
    assert float(losses[0]) == pytest.approx(float(expected[0]), rel=1e-12)
    ours, theirs = tcnn.export(trainer), ref.export(oracle)
    assert ours.keys() == theirs.keys()
    for k in theirs:
        np.testing.assert_allclose(ours[k], theirs[k], rtol=1e-10, atol=1e-13, err_msg=k)
    assert not np.allclose(ours["bn.0.var"], 1.0)  # they moved


@pytest.mark.parametrize("framework", ["torch", "reference"])
def test_measuring_gradients_leaves_the_running_statistics_where_they_were(framework):
    weights, x, labels = tiny()
    if framework == "torch":
        trainer = tcnn.build(weights, 1e-2)
        tcnn.loss_and_grads(trainer, tensor(x), tensor(labels))
        after = tcnn.export(trainer)
    else:
        trainer = ref.build(weights, 1e-2)
        ref.loss_and_grads(trainer, x, labels)
        after = ref.export(trainer)
    for k in ("bn.0.mean", "bn.0.var", "bn.1.mean", "bn.1.var"):
        np.testing.assert_array_equal(after[k], weights[k])


def test_dropout_masks_depend_on_seed_and_step_only_not_on_how_a_run_is_cut():
    whole = dropout.masks(3, 10, 4, (5, 6), 0.25, np.float64)
    parts = np.concatenate([dropout.masks(3, 10 + i, 1, (5, 6), 0.25, np.float64) for i in range(4)])
    np.testing.assert_array_equal(whole, parts)
    assert not np.array_equal(whole, dropout.masks(4, 10, 4, (5, 6), 0.25, np.float64))
    assert set(np.unique(whole)) <= {0.0, 1 / 0.75}
    many = dropout.masks(0, 0, 50, (64, 32), problems.CNN_DROPOUT, np.float32)
    assert abs(float(np.mean(many == 0)) - problems.CNN_DROPOUT) < 0.01


def test_the_weights_carry_the_dropout_seed_and_the_running_statistics_as_named_buffers():
    w = init.cnn("flax", [3, 4, 5], init.cnn_features([3, 4, 5], 9, 8), 7, seed=11)
    assert w["conv.0.w"].shape == (3, 3, 3, 4) and w["conv.1.w"].shape == (3, 3, 4, 5)
    assert w["fc.w"].shape == (2 * 2 * 5, 7)
    np.testing.assert_array_equal(w["bn.1.var"], np.ones(5, np.float32))
    assert int(w["dropout.seed"]) == 11 and w["dropout.seed"].dtype == np.int64
    init.check_cnn(w, (3, 9, 8), 7)


@pytest.mark.slow  # JAX compiles the CNN's programs (~20 s on a busy machine); `equivalence check --stage cnn` is the long form
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_torch_jax_and_the_oracle_agree_on_all_four_quantities(dtype):
    """float32 failed at step 15 of 20 (jax 5.8e-5 from the oracle) until the JAX Adam corrected its bias in
    float32 as accurately as PyTorch does (jaxnet/adam.py, tests/test_adam.py)."""
    setup = Setup(dtype=dtype, steps=20, n=32, lr=1e-2, regime="custom")
    rows = compare_stage(row("cnn"), setup)
    assert {r["quantity"] for r in rows} == {"predictions", "gradients", "update", "trajectory"}
    bad = [r for r in rows if not r["passed"]]
    assert not bad, bad
    if dtype == "float64":
        assert max(r["rel_err"] for r in rows) <= 1e-12
