"""jaxnet.adam: every JAX Adam stage takes the float64 Adam step to a few float32 ulps, where optax's own does not."""

from types import SimpleNamespace

import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

from equivalence.lecture.reference import adam_step
from jaxnet import adam
from jaxnet import device as jdevice
from netdata import init
from training import stages
from netdata.problems import BETAS, EPS

# An Adam step from float32 state takes ~16 float32 roundings of half an ulp each (the moments, the corrections,
# sqrt, the quotient, lr, the sum): at worst 8 ulps off the exact step. Measured: jaxnet.adam 2.8, torch 1.2;
# optax's own bias correction 32 to 58 (1 - 0.999**t from 0.999 rounded to float32 is 1.3e-5 off).
ADAM_ULPS = 8
BOUND = ADAM_ULPS * np.finfo(np.float32).eps
LR = 1e-2
COUNTS = [0, 9, 999]  # Adam's count before the step: 1 - 0.999**t cancels at every t

START = {  # tiny float32 weights of each Adam stage; learned ones are set to 0 below, so the step is what is stored
    "optim": lambda: init.linear("torch", 3, 2),
    "module": lambda: init.linear("torch", 3, 2),
    "mlp": lambda: init.mlp("torch", [3, 4, 2]),
    "cnn": lambda: init.cnn("torch", [1, 2, 3], init.cnn_features([1, 2, 3], 4, 4), 10),
}


def learned(weights: dict) -> list[str]:
    return [k for k in weights if k != "dropout.seed" and not k.endswith((".mean", ".var"))]


def state_at(shapes: dict[str, tuple], count: int) -> tuple[dict, dict, dict]:
    """Gradients, and Adam's moments as a run could have left them after `count` steps (none at 0)."""
    g = np.random.default_rng(count)
    grads = {k: g.normal(0, 1, s).astype(np.float32) for k, s in shapes.items()}
    mu = {k: g.normal(0, 0.1, s).astype(np.float32) if count else np.zeros(s, np.float32) for k, s in shapes.items()}
    nu = {k: g.uniform(0.1, 1, s).astype(np.float32) if count else np.zeros(s, np.float32) for k, s in shapes.items()}
    return grads, mu, nu


def exact_step(grads: dict, mu: dict, nu: dict, count: int) -> dict:
    """The oracle's Adam step from 0 in float64 arithmetic (moments stored in float32, as the stages store them)."""
    t = SimpleNamespace(params={k: np.zeros(g.shape) for k, g in grads.items()}, lr=LR, storage=np.float32,
                        step=count, mu={k: v.astype(np.float64) for k, v in mu.items()},
                        nu={k: v.astype(np.float64) for k, v in nu.items()})
    adam_step(t, {k: g.astype(np.float64) for k, g in grads.items()})
    return t.params


def relative(ours: np.ndarray, exact: np.ndarray) -> float:
    return float(np.linalg.norm(ours - exact) / np.linalg.norm(exact))


@nnx.jit
def _apply(optimizer, model, grads):
    optimizer.update(model, grads)


@pytest.mark.parametrize("count", COUNTS)
@pytest.mark.parametrize("stage", list(START))
def test_each_jax_adam_stage_takes_the_float64_step_to_a_few_float32_ulps(stage, count):
    """Through the stage's own build, optimizer and export: its Adam state loads, steps once and comes back."""
    jstage = stages.module("jax", stage)
    weights = START[stage]()
    names = learned(weights)
    grads, mu, nu = state_at({k: weights[k].shape for k in names}, count)
    start = weights | {k: np.zeros_like(weights[k]) for k in names}
    if count:
        start |= {"adam.step": np.asarray(count, np.int64)} | {f"adam.mu.{k}": v for k, v in mu.items()}
        start |= {f"adam.nu.{k}": v for k, v in nu.items()}
    with jdevice.context(dtype="float32"):
        trainer = jstage.build(start, LR)
        as_grads = jstage.build(start | grads, LR).model  # a model whose parameters are the gradients
        _apply(trainer.optimizer, trainer.model, nnx.state(as_grads, nnx.Param))
        ours = jstage.export(trainer)
    exact = exact_step(grads, mu, nu, count)
    assert int(ours["adam.step"]) == count + 1
    for k in names:
        assert relative(ours[k], exact[k]) <= BOUND, (k, relative(ours[k], exact[k]))


@pytest.mark.parametrize("count", COUNTS)
@pytest.mark.parametrize("scale_by_adam, within", [
    pytest.param(adam.scale_by_adam, True, id="jaxnet.adam"),
    pytest.param(lambda b1, b2, eps: optax.scale_by_adam(b1, b2, eps), False, id="optax"),
])
def test_only_the_float64_bias_correction_keeps_a_float32_step_within_the_bound(scale_by_adam, within, count):
    """The control: optax.scale_by_adam's own correction, on the same inputs, misses the bound at every count."""
    grads, mu, nu = state_at({"w": (64, 32)}, count)
    tx = optax.chain(scale_by_adam(*BETAS, EPS), optax.scale_by_learning_rate(LR))
    state = tx.init({"w": jnp.zeros((64, 32), jnp.float32)})
    state = (optax.ScaleByAdamState(jnp.asarray(count, jnp.int32), {"w": jnp.asarray(mu["w"])},
                                    {"w": jnp.asarray(nu["w"])}), *state[1:])
    step, _ = tx.update({"w": jnp.asarray(grads["w"])}, state)
    err = relative(np.asarray(step["w"]), exact_step(grads, mu, nu, count)["w"])
    assert (err <= BOUND) == within, err
