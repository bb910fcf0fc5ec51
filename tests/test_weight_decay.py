"""The mlp's AdamW: both frameworks decay alike (float64, 1e-12), one step is the documented decoupled update, and
the state keeps Adam's names."""

import numpy as np
import pytest

from equivalence.lecture.check import sides
from equivalence.lecture.stages import Setup, row
from equivalence.tolerance import TOLERANCES
from netdata.problems import BETAS, EPS

LR, STEPS = 1e-2, 3  # the shape of test_mlp.py's resume test: one compiled scan for both files
FLOAT64 = TOLERANCES["float64"].rel


def rel(a: np.ndarray, ref: np.ndarray) -> float:
    """The project's metric: normwise relative error."""
    return float(np.linalg.norm(np.asarray(a, np.float64) - ref) / np.linalg.norm(ref))


def trained(framework: str, weight_decay: float) -> dict[str, np.ndarray]:
    weights, x, labels = row("mlp").problem(Setup(dtype="float64"))
    side, stage = sides(Setup(dtype="float64"))[framework], getattr(row("mlp"), framework)
    with side.context():
        xs = side.to_array(np.broadcast_to(x, (STEPS, *x.shape)))
        ys = side.to_array(np.broadcast_to(labels, (STEPS, *labels.shape)))
        trainer, _ = stage.train(stage.build(weights, LR, side.device, weight_decay=weight_decay), xs, ys)
        return stage.export(trainer)


@pytest.fixture(scope="module")
def runs():
    return {(fw, wd): trained(fw, wd) for fw in ("jax", "torch") for wd in (0.0, 0.5)}


def test_both_frameworks_take_the_same_adamw_steps_in_float64(runs):
    jax_w, torch_w = runs["jax", 0.5], runs["torch", 0.5]
    assert sorted(jax_w) == sorted(torch_w)
    for key in jax_w:
        if key.startswith(("layers.", "adam.mu", "adam.nu")):
            assert rel(jax_w[key], torch_w[key]) <= FLOAT64, key
    assert int(jax_w["adam.step"]) == int(torch_w["adam.step"]) == STEPS


@pytest.mark.parametrize("framework", ["jax", "torch"])
def test_the_state_keeps_adams_canonical_names_and_decay_shrinks_the_weights(runs, framework):
    plain, decayed = runs[framework, 0.0], runs[framework, 0.5]
    assert sorted(decayed) == sorted(plain)
    assert {k.split(".")[1] for k in decayed if k.startswith("adam.")} == {"mu", "nu", "step"}
    norm = lambda w: sum(np.linalg.norm(w[k]) for k in w if k.startswith("layers."))  # noqa: E731
    assert norm(decayed) < norm(plain)


def one_adamw_step(w: np.ndarray, g: np.ndarray, wd: float) -> np.ndarray:
    """torch.optim.AdamW's documented first step, in NumPy: w (1 - lr wd) - lr m^ / (sqrt(v^) + eps)."""
    m, v = (1 - BETAS[0]) * g, (1 - BETAS[1]) * g * g
    m_hat, v_hat = m / (1 - BETAS[0]), v / (1 - BETAS[1])
    return w * (1 - LR * wd) - LR * m_hat / (np.sqrt(v_hat) + EPS)


@pytest.mark.parametrize("framework", ["jax", "torch"])
def test_one_step_is_the_documented_adamw_update(framework):
    weights, x, labels = row("mlp").problem(Setup(dtype="float64"))
    side, stage = sides(Setup(dtype="float64"))[framework], getattr(row("mlp"), framework)
    with side.context():
        trainer = stage.build(weights, LR, side.device, weight_decay=0.5)
        _, grads = stage.loss_and_grads(trainer, side.to_array(x), side.to_array(labels))
        grads = {k: np.asarray(side.to_numpy(g)) for k, g in grads.items()}
        trainer, _ = stage.train(trainer, side.to_array(x[None]), side.to_array(labels[None]))
        after = stage.export(trainer)
    for key in grads:
        assert rel(after[key], one_adamw_step(weights[key].astype(np.float64), grads[key], 0.5)) <= FLOAT64, key
