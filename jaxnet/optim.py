"""Lecture program 5: the same Linear model, updated by Adam (optax's chain) through `nnx.Optimizer`."""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

from jaxnet.adam import scale_by_adam
from jaxnet.loop import scan_steps
from jaxnet.state import export_adam, export_linear, linear_grads, load_adam, load_linear
from netdata import init, problems
from netdata.stages import STAGES
from netdata.problems import BETAS, EPS


def _adam_chain(learning_rate, b1: float, b2: float, eps: float) -> optax.GradientTransformation:
    """optax.adam's own chain (Adam's scaling, then -lr), its scale_by_adam the float32-accurate one of jaxnet.adam."""
    return optax.chain(scale_by_adam(b1, b2, eps), optax.scale_by_learning_rate(learning_rate))


# Not plain optax.adam: every float32 step comes out short (docs/pitfalls.md, "optax's float32 bias correction").
@functools.lru_cache
def _adam(b1: float, b2: float, eps: float) -> optax.GradientTransformation:
    """Adam with its learning rate a value in the optimizer's state (inject_hyperparams), not a
    constant of the compiled program. The transformation object is part of the program's cache key, so
    there is one per setting and none per lr: a new lr or a rebuilt model (a resumed run) reuses the
    program. The betas and eps stay Python constants, as torch's are: traced float32 betas round 1 - b1."""
    return optax.inject_hyperparams(_adam_chain, static_args=("b1", "b2", "eps"))(
        learning_rate=0.0, b1=b1, b2=b2, eps=eps)


class Trainer(NamedTuple):
    model: nnx.Linear
    optimizer: nnx.Optimizer


def adam(model: nnx.Module, lr: float) -> nnx.Optimizer:
    """`nnx.Optimizer(model, optax.adam(lr))` as its chain (`_adam_chain`), lr set in the state the step reads."""
    optimizer = nnx.Optimizer(model, _adam(*BETAS, EPS), wrt=nnx.Param)
    optimizer.opt_state.hyperparams["learning_rate"][...] = lr
    return optimizer


# 1. Define the model and its optimizer. `weights` may also hold Adam state to resume from.
def build(weights: dict[str, np.ndarray], lr: float, device=None) -> Trainer:
    din, dout = weights["w"].shape
    dtype = weights["w"].dtype
    model = nnx.Linear(din, dout, dtype=dtype, param_dtype=dtype, rngs=nnx.Rngs(0))
    load_linear(model, weights)
    optimizer = adam(model, lr)
    load_adam(optimizer, weights)
    return Trainer(model, optimizer)


def predict(trainer: Trainer, x: jax.Array) -> jax.Array:
    return trainer.model(x)  # (N, Dout)


def mse(model: nnx.Linear, x: jax.Array, y: jax.Array) -> jax.Array:
    return jnp.mean((model(x) - y) ** 2)  # = torch's mse_loss (mean over all elements)


def loss_of(trainer: Trainer, x: jax.Array, y: jax.Array) -> jax.Array:
    """The loss alone: a forward pass, no gradient."""
    return mse(trainer.model, x, y)


def loss_and_grads(trainer: Trainer, x: jax.Array, y: jax.Array):
    loss, grads = nnx.value_and_grad(mse)(trainer.model, x, y)
    return loss, linear_grads(grads)


# 3. Train: value_and_grad replaces zero_grad + backward; optimizer.update replaces step().
def train_step(trainer: Trainer, x: jax.Array, y: jax.Array) -> tuple[Trainer, jax.Array]:
    loss, grads = nnx.value_and_grad(mse)(trainer.model, x, y)
    trainer.optimizer.update(trainer.model, grads)  # NNX objects change in place; the trainer is returned anyway
    return trainer, loss


def train(trainer: Trainer, xs: jax.Array, ys: jax.Array) -> tuple[Trainer, jax.Array]:
    """One step per leading index of xs (K, B, Din) and ys (K, B, Dout), in one compiled scan."""
    return scan_steps(train_step, trainer, xs, ys)


def export(trainer: Trainer) -> dict[str, np.ndarray]:
    return export_linear(trainer.model) | export_adam(trainer.optimizer)


def main() -> None:
    x, y = problems.lecture(seed=0)  # 2. load the data
    weights = init.linear(STAGES["optim"].init, problems.DIN, problems.DOUT)
    trainer = build(weights, problems.LECTURE_LR)
    steps = problems.LECTURE_STEPS
    trainer, losses = train(trainer, jnp.broadcast_to(x, (steps, *x.shape)), jnp.broadcast_to(y, (steps, *y.shape)))
    print(f"loss {float(losses[0]):.4f} -> {float(losses[-1]):.4f} after {steps} steps")
    rows = predict(trainer, x[:3]).tolist()  # 4. test: a forward pass with the trained weights
    print("4. test, predictions for the first 3 rows:", [[round(v, 4) for v in row] for row in rows])


if __name__ == "__main__":
    with jax.default_matmul_precision("highest"):
        main()
