"""Lecture program 6: the model as an `nnx.Module` subclass (`MyOneLayerNet`), trained by Adam."""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from jaxnet.loop import scan_steps
from jaxnet.optim import adam
from jaxnet.state import export_adam, export_linear, linear_grads, load_adam, load_linear
from netdata import init, problems
from netdata.stages import STAGES


# 1. Define the model: a class whose __call__ says what the network computes (torch: forward).
class MyOneLayerNet(nnx.Module):
    def __init__(self, din: int, dout: int, dtype, rngs: nnx.Rngs):
        self.linear = nnx.Linear(din, dout, dtype=dtype, param_dtype=dtype, rngs=rngs)

    def __call__(self, x: jax.Array) -> jax.Array:
        return self.linear(x)  # (N, Din) -> (N, Dout)


class Trainer(NamedTuple):
    model: MyOneLayerNet
    optimizer: nnx.Optimizer


def build(weights: dict[str, np.ndarray], lr: float, device=None) -> Trainer:
    din, dout = weights["w"].shape
    model = MyOneLayerNet(din, dout, weights["w"].dtype, rngs=nnx.Rngs(0))
    load_linear(model.linear, weights)
    optimizer = adam(model, lr)
    load_adam(optimizer, weights, path=("linear",))
    return Trainer(model, optimizer)


def predict(trainer: Trainer, x: jax.Array) -> jax.Array:
    return trainer.model(x)


def mse(model: MyOneLayerNet, x: jax.Array, y: jax.Array) -> jax.Array:
    return jnp.mean((model(x) - y) ** 2)


def loss_of(trainer: Trainer, x: jax.Array, y: jax.Array) -> jax.Array:
    """The loss alone: a forward pass, no gradient."""
    return mse(trainer.model, x, y)


def loss_and_grads(trainer: Trainer, x: jax.Array, y: jax.Array):
    loss, grads = nnx.value_and_grad(mse)(trainer.model, x, y)
    return loss, linear_grads(grads["linear"])


# 3. Train: the same calls as the optim stage; only the model's definition changed.
def train_step(trainer: Trainer, x: jax.Array, y: jax.Array) -> tuple[Trainer, jax.Array]:
    loss, grads = nnx.value_and_grad(mse)(trainer.model, x, y)
    trainer.optimizer.update(trainer.model, grads)
    return trainer, loss


def train(trainer: Trainer, xs: jax.Array, ys: jax.Array) -> tuple[Trainer, jax.Array]:
    """One step per leading index of xs (K, B, Din) and ys (K, B, Dout), in one compiled scan."""
    return scan_steps(train_step, trainer, xs, ys)


def export(trainer: Trainer) -> dict[str, np.ndarray]:
    return export_linear(trainer.model.linear) | export_adam(trainer.optimizer, path=("linear",))


def main() -> None:
    x, y = problems.lecture(seed=0)  # 2. load the data
    weights = init.linear(STAGES["module"].init, problems.DIN, problems.DOUT)
    trainer = build(weights, problems.LECTURE_LR)
    steps = problems.LECTURE_STEPS
    trainer, losses = train(trainer, jnp.broadcast_to(x, (steps, *x.shape)), jnp.broadcast_to(y, (steps, *y.shape)))
    print(f"loss {float(losses[0]):.4f} -> {float(losses[-1]):.4f} after {steps} steps")
    rows = predict(trainer, x[:3]).tolist()  # 4. test: a forward pass with the trained weights
    print("4. test, predictions for the first 3 rows:", [[round(v, 4) for v in row] for row in rows])


if __name__ == "__main__":
    with jax.default_matmul_precision("highest"):
        main()
