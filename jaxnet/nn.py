"""Lecture program 4: one `flax.nnx.Linear` with a bias and mean squared error, updated by tree map."""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from jaxnet.device import array
from jaxnet.loop import scan_steps
from jaxnet.state import export_linear, linear_grads, load_linear
from netdata import init, problems
from netdata.stages import STAGES


class Trainer(NamedTuple):
    model: nnx.Linear
    lr: jax.Array


# 1. Define the model: y_pred = x @ kernel + bias; Flax's kernel is our w, no transpose.
def build(weights: dict[str, np.ndarray], lr: float, device=None) -> Trainer:
    din, dout = weights["w"].shape
    dtype = weights["w"].dtype
    model = nnx.Linear(din, dout, dtype=dtype, param_dtype=dtype, rngs=nnx.Rngs(0))
    load_linear(model, weights)  # replace Flax's random start with the shared weights
    return Trainer(model, array(np.asarray(lr, dtype), device))


def predict(trainer: Trainer, x: jax.Array) -> jax.Array:
    return trainer.model(x)  # (N, Dout)


def mse(model: nnx.Linear, x: jax.Array, y: jax.Array) -> jax.Array:
    # torch's mse_loss: mean over all elements. optax.l2_loss would add a factor 0.5.
    return jnp.mean((model(x) - y) ** 2)


def loss_of(trainer: Trainer, x: jax.Array, y: jax.Array) -> jax.Array:
    """The loss alone: a forward pass, no gradient."""
    return mse(trainer.model, x, y)


def loss_and_grads(trainer: Trainer, x: jax.Array, y: jax.Array):
    loss, grads = nnx.value_and_grad(mse)(trainer.model, x, y)
    return loss, linear_grads(grads)


# 3. Train: value_and_grad gives each Param's gradient, then p - lr * g over the whole parameter tree.
def train_step(trainer: Trainer, x: jax.Array, y: jax.Array) -> tuple[Trainer, jax.Array]:
    loss, grads = nnx.value_and_grad(mse)(trainer.model, x, y)
    params = nnx.state(trainer.model, nnx.Param)
    # NNX objects change in place; the step still returns the trainer, as every JAX stage's step does.
    nnx.update(trainer.model, jax.tree.map(lambda p, g: p - trainer.lr * g, params, grads))
    return trainer, loss


def train(trainer: Trainer, xs: jax.Array, ys: jax.Array) -> tuple[Trainer, jax.Array]:
    """One step per leading index of xs (K, B, Din) and ys (K, B, Dout), in one compiled scan."""
    return scan_steps(train_step, trainer, xs, ys)


def export(trainer: Trainer) -> dict[str, np.ndarray]:
    return export_linear(trainer.model)


def main() -> None:
    x, y = problems.lecture(seed=0)  # 2. load the data
    weights = init.linear(STAGES["nn"].init, problems.DIN, problems.DOUT)
    trainer = build(weights, problems.LECTURE_LR)
    steps = problems.LECTURE_STEPS
    trainer, losses = train(trainer, jnp.broadcast_to(x, (steps, *x.shape)), jnp.broadcast_to(y, (steps, *y.shape)))
    print(f"loss {float(losses[0]):.4f} -> {float(losses[-1]):.4f} after {steps} steps")
    rows = predict(trainer, x[:3]).tolist()  # 4. test: a forward pass with the trained weights
    print("4. test, predictions for the first 3 rows:", [[round(v, 4) for v in row] for row in rows])


if __name__ == "__main__":
    with jax.default_matmul_precision("highest"):
        main()
