"""Lecture programs 1-2, by hand: forward pass, a hand-written gradient, gradient descent on `w`."""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxnet.device import array, numpy
from netdata import init, problems
from netdata.stages import STAGES


class Trainer(NamedTuple):  # a pytree: jit and scan carry it; updates return a new one
    w: jax.Array  # (Din, Dout)
    lr: jax.Array  # a traced scalar, so a new learning rate does not recompile


# 1. Define the model: y_pred = x @ w, no bias, no autodiff.
def build(weights: dict[str, np.ndarray], lr: float, device=None) -> Trainer:
    w = array(weights["w"], device)
    return Trainer(w=w, lr=jnp.asarray(lr, w.dtype))


def predict(trainer: Trainer, x: jax.Array) -> jax.Array:
    return x @ trainer.w  # (N, Din) @ (Din, Dout) -> (N, Dout)


# 3. Train: forward pass -> loss; backward pass written out by hand -> gradient; gradient descent.
def loss_of(trainer: Trainer, x: jax.Array, y: jax.Array) -> jax.Array:
    """The loss alone: a forward pass, no gradient."""
    return 0.5 * jnp.sum((predict(trainer, x) - y) ** 2)


def loss_and_grads(trainer: Trainer, x: jax.Array, y: jax.Array):
    y_pred = predict(trainer, x)
    loss = 0.5 * jnp.sum((y_pred - y) ** 2)
    grad_y_pred = y_pred - y  # (N, Dout)
    grad_w = x.T @ grad_y_pred  # (Din, Dout)
    return loss, {"w": grad_w}


@jax.jit
def train_step(trainer: Trainer, x: jax.Array, y: jax.Array) -> tuple[Trainer, jax.Array]:
    loss, grads = loss_and_grads(trainer, x, y)
    # JAX arrays are immutable: no `w -= ...`. So every JAX stage's step returns the trainer, here a new one.
    return trainer._replace(w=trainer.w - trainer.lr * grads["w"]), loss


@jax.jit
def train(trainer: Trainer, xs: jax.Array, ys: jax.Array) -> tuple[Trainer, jax.Array]:
    """One step per leading index of xs (K, B, Din) and ys (K, B, Dout), fused by lax.scan."""
    return jax.lax.scan(lambda t, batch: train_step(t, *batch), trainer, (xs, ys))


def export(trainer: Trainer) -> dict[str, np.ndarray]:
    return {"w": numpy(trainer.w)}


def main() -> None:
    """The lecture's program: 64 x 4 -> 2, lr 1e-6, 5000 steps, standard-normal start."""
    x, y = problems.lecture(seed=0)  # 2. load the data
    weights = init.linear(STAGES["manual"].init, problems.DIN, problems.DOUT, bias=False)
    trainer = build(weights, problems.LECTURE_LR)
    steps = problems.LECTURE_STEPS
    trainer, losses = train(trainer, jnp.broadcast_to(x, (steps, *x.shape)), jnp.broadcast_to(y, (steps, *y.shape)))
    print(f"loss {float(losses[0]):.4f} -> {float(losses[-1]):.4f} after {steps} steps")
    rows = predict(trainer, x[:3]).tolist()  # 4. test: a forward pass with the trained weights
    print("4. test, predictions for the first 3 rows:", [[round(v, 4) for v in row] for row in rows])


if __name__ == "__main__":
    with jax.default_matmul_precision("highest"):
        main()
