"""Lecture program 5: the same Linear model, updated by `optax.adam` through `nnx.Optimizer`."""

from __future__ import annotations

from typing import NamedTuple

import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

from jaxnet.loop import scan_steps
from jaxnet.state import export_adam, export_linear, linear_grads, load_adam, load_linear
from netdata import init, problems

B1, B2, EPS = 0.9, 0.999, 1e-8  # torch.optim.Adam's defaults; Optax's match, spelled out anyway


@functools.lru_cache
def adam(lr: float, b1: float, b2: float, eps: float) -> optax.GradientTransformation:
    """One transformation object per setting: it is part of the compiled program's cache key, so
    a rebuilt model (a resumed run, the next chunk) reuses the program instead of recompiling."""
    return optax.adam(lr, b1=b1, b2=b2, eps=eps)


class Trainer(NamedTuple):
    model: nnx.Linear
    optimizer: nnx.Optimizer


# 1. Define the model and its optimizer. `weights` may also hold Adam state to resume from.
def build(weights: dict[str, np.ndarray], lr: float, device=None) -> Trainer:
    din, dout = weights["w"].shape
    dtype = weights["w"].dtype
    model = nnx.Linear(din, dout, dtype=dtype, param_dtype=dtype, rngs=nnx.Rngs(0))
    load_linear(model, weights)
    optimizer = nnx.Optimizer(model, adam(lr, B1, B2, EPS), wrt=nnx.Param)
    load_adam(optimizer, weights)
    return Trainer(model, optimizer)


def predict(trainer: Trainer, x: jax.Array) -> jax.Array:
    return trainer.model(x)  # (N, Dout)


def mse(model: nnx.Linear, x: jax.Array, y: jax.Array) -> jax.Array:
    return jnp.mean((model(x) - y) ** 2)  # = torch's mse_loss (mean over all elements)


def loss_and_grads(trainer: Trainer, x: jax.Array, y: jax.Array):
    loss, grads = nnx.value_and_grad(mse)(trainer.model, x, y)
    return loss, linear_grads(grads)


# 3. Train: value_and_grad replaces zero_grad + backward; optimizer.update replaces step().
def train_step(model: nnx.Linear, optimizer: nnx.Optimizer, x: jax.Array, y: jax.Array) -> jax.Array:
    loss, grads = nnx.value_and_grad(mse)(model, x, y)
    optimizer.update(model, grads)
    return loss


def train(trainer: Trainer, xs: jax.Array, ys: jax.Array) -> tuple[Trainer, jax.Array]:
    """One step per leading index of xs (K, B, Din) and ys (K, B, Dout), in one compiled scan."""
    return trainer, scan_steps(train_step, (trainer.model, trainer.optimizer), xs, ys)


def export(trainer: Trainer) -> dict[str, np.ndarray]:
    return export_linear(trainer.model) | export_adam(trainer.optimizer)


def main() -> None:
    x, y = problems.lecture(seed=0)  # 2. load the data
    trainer = build(init.linear("flax", problems.DIN, problems.DOUT), problems.LECTURE_LR)
    steps = problems.LECTURE_STEPS
    trainer, losses = train(trainer, jnp.broadcast_to(x, (steps, *x.shape)), jnp.broadcast_to(y, (steps, *y.shape)))
    print(f"loss {losses[0]:.4f} -> {losses[-1]:.4f} after {steps} steps")
    print("4. test, forward pass with the trained weights:", predict(trainer, x[:3]).tolist())


if __name__ == "__main__":
    with jax.default_matmul_precision("highest"):
        main()
