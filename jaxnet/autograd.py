"""Lecture program 3, autodiff: `jax.value_and_grad` gives the gradient the manual stage wrote by hand."""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxnet.device import array, numpy
from netdata import init, problems
from netdata.stages import STAGES


class Trainer(NamedTuple):
    params: dict[str, jax.Array]  # {'w': (Din, Dout)}; no requires_grad: grad() picks its argument
    lr: jax.Array


# 1. Define the model as a pure function of its parameters.
def build(weights: dict[str, np.ndarray], lr: float, device=None) -> Trainer:
    w = array(weights["w"], device)
    return Trainer(params={"w": w}, lr=jnp.asarray(lr, w.dtype))


def forward(params: dict[str, jax.Array], x: jax.Array) -> jax.Array:
    return x @ params["w"]  # (N, Dout)


def loss_fn(params: dict[str, jax.Array], x: jax.Array, y: jax.Array) -> jax.Array:
    return 0.5 * jnp.sum((forward(params, x) - y) ** 2)


def predict(trainer: Trainer, x: jax.Array) -> jax.Array:
    return forward(trainer.params, x)


# 3. Train: value_and_grad runs the forward pass and the backward pass in one call.
def loss_of(trainer: Trainer, x: jax.Array, y: jax.Array) -> jax.Array:
    """The loss alone: a forward pass, no gradient."""
    return loss_fn(trainer.params, x, y)


def loss_and_grads(trainer: Trainer, x: jax.Array, y: jax.Array):
    return jax.value_and_grad(loss_fn)(trainer.params, x, y)


@jax.jit
def train_step(trainer: Trainer, x: jax.Array, y: jax.Array) -> tuple[Trainer, jax.Array]:
    loss, grads = jax.value_and_grad(loss_fn)(trainer.params, x, y)
    # No torch.no_grad() twin: nothing is recorded unless it is inside a function given to grad().
    params = jax.tree.map(lambda p, g: p - trainer.lr * g, trainer.params, grads)
    return trainer._replace(params=params), loss


@jax.jit
def train(trainer: Trainer, xs: jax.Array, ys: jax.Array) -> tuple[Trainer, jax.Array]:
    """One step per leading index of xs (K, B, Din) and ys (K, B, Dout), fused by lax.scan."""
    return jax.lax.scan(lambda t, batch: train_step(t, *batch), trainer, (xs, ys))


def export(trainer: Trainer) -> dict[str, np.ndarray]:
    return {"w": numpy(trainer.params["w"])}


def main() -> None:
    x, y = problems.lecture(seed=0)  # 2. load the data
    weights = init.linear(STAGES["autograd"].init, problems.DIN, problems.DOUT, bias=False)
    trainer = build(weights, problems.LECTURE_LR)
    steps = problems.LECTURE_STEPS
    trainer, losses = train(trainer, jnp.broadcast_to(x, (steps, *x.shape)), jnp.broadcast_to(y, (steps, *y.shape)))
    print(f"loss {float(losses[0]):.4f} -> {float(losses[-1]):.4f} after {steps} steps")
    rows = predict(trainer, x[:3]).tolist()  # 4. test: a forward pass with the trained weights
    print("4. test, predictions for the first 3 rows:", [[round(v, 4) for v in row] for row in rows])


if __name__ == "__main__":
    with jax.default_matmul_precision("highest"):
        main()
