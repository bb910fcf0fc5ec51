"""Lecture program 7: a multi-layer perceptron (Linear-ReLU-...-Linear) classifying, trained by Adam."""

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
from jaxnet.state import export_adam_at, export_linear, linear_grads, load_adam_at, load_linear, paths
from netdata import init, problems
from netdata.stages import STAGES
from netdata.problems import BETAS, EPS


# 1. Define the model: Linear layers with a ReLU between each pair, none after the last.
class MLP(nnx.Module):
    def __init__(self, sizes: list[int], dtype, rngs: nnx.Rngs):
        # Flax 0.12 refuses a plain list of modules as data; nnx.List is its torch.nn.ModuleList.
        # Zeros: build() loads the real start, and Flax's random draw costs ~0.5 s per new shape.
        zeros = nnx.initializers.zeros_init()
        self.layers = nnx.List(nnx.Linear(a, b, dtype=dtype, param_dtype=dtype, kernel_init=zeros, bias_init=zeros,
                                          rngs=rngs) for a, b in zip(sizes[:-1], sizes[1:]))

    def __call__(self, x: jax.Array) -> jax.Array:
        for layer in self.layers[:-1]:
            x = nnx.relu(layer(x))  # (N, H)
        return self.layers[-1](x)  # (N, C) logits: the loss applies the softmax itself


class Trainer(NamedTuple):
    model: MLP
    optimizer: nnx.Optimizer


def _adamw_chain(learning_rate, weight_decay, b1: float, b2: float, eps: float) -> optax.GradientTransformation:
    """optax.adamw's own chain: Adam's scaling (jaxnet.adam's), plus wd * w (decoupled, as torch's AdamW), times -lr."""
    return optax.chain(scale_by_adam(b1, b2, eps), optax.add_decayed_weights(weight_decay),
                       optax.scale_by_learning_rate(learning_rate))


@functools.lru_cache
def _adamw(b1: float, b2: float, eps: float) -> optax.GradientTransformation:
    # lr and the decay are values in the optimizer's state (inject_hyperparams), not constants of the compiled
    # program: another --lr or --weight-decay reuses it. scale_by_adam, not optax's: see jaxnet.optim's _adam.
    return optax.inject_hyperparams(_adamw_chain, static_args=("b1", "b2", "eps"))(
        learning_rate=0.0, weight_decay=0.0, b1=b1, b2=b2, eps=eps)


def adamw(model: MLP, lr: float, weight_decay: float) -> nnx.Optimizer:
    """AdamW (`optax.adamw`'s chain) through nnx.Optimizer; with weight_decay 0 it takes Adam's steps exactly."""
    optimizer = nnx.Optimizer(model, _adamw(*BETAS, EPS), wrt=nnx.Param)
    optimizer.opt_state.hyperparams["learning_rate"][...] = lr
    optimizer.opt_state.hyperparams["weight_decay"][...] = weight_decay
    return optimizer


def _layer(weights: dict[str, np.ndarray], i: int) -> dict[str, np.ndarray]:
    return {k: weights[f"layers.{i}.{k}"] for k in ("w", "b")}


def _paths(model: MLP) -> dict[str, tuple]:
    return {k: v for i in range(len(model.layers)) for k, v in paths(("layers", i), f"layers.{i}.").items()}


def build(weights: dict[str, np.ndarray], lr: float, device=None, weight_decay: float = 0.0) -> Trainer:
    """Layer sizes come from `layers.i.w`; `weights` may also hold Adam state to resume from."""
    model = MLP(init.mlp_sizes(weights), weights["layers.0.w"].dtype, rngs=nnx.Rngs(0))
    for i, layer in enumerate(model.layers):
        load_linear(layer, _layer(weights, i))
    optimizer = adamw(model, lr, weight_decay)
    load_adam_at(optimizer, weights, _paths(model))
    return Trainer(model, optimizer)


def predict(trainer: Trainer, x: jax.Array) -> jax.Array:
    return trainer.model(x)  # (N, C) logits


def cross_entropy(model: MLP, x: jax.Array, labels: jax.Array) -> jax.Array:
    # = torch's F.cross_entropy: mean over the batch of -log softmax(logits)[label]
    return optax.softmax_cross_entropy_with_integer_labels(model(x), labels).mean()


# Compiled once per shape: run eagerly, their dozens of small ops would each compile (~2 s in all).
_value_and_grad = nnx.jit(nnx.value_and_grad(cross_entropy))
_cross_entropy = nnx.jit(cross_entropy)


def loss_of(trainer: Trainer, x: jax.Array, labels: jax.Array) -> jax.Array:
    """The loss alone: a forward pass, no gradient."""
    return _cross_entropy(trainer.model, x, labels)


def loss_and_grads(trainer: Trainer, x: jax.Array, labels: jax.Array):
    loss, grads = _value_and_grad(trainer.model, x, labels)
    out = {}
    for i in range(len(trainer.model.layers)):
        out |= {f"layers.{i}.{k}": g for k, g in linear_grads(grads["layers"][i]).items()}
    return loss, out


# 3. Train: the same calls as every stage since optim; only the model and the loss changed.
def train_step(trainer: Trainer, x: jax.Array, labels: jax.Array) -> tuple[Trainer, jax.Array]:
    loss, grads = nnx.value_and_grad(cross_entropy)(trainer.model, x, labels)
    trainer.optimizer.update(trainer.model, grads)
    return trainer, loss


def train(trainer: Trainer, xs: jax.Array, ys: jax.Array) -> tuple[Trainer, jax.Array]:
    """One step per leading index of xs (K, B, Din) and labels ys (K, B), in one compiled scan."""
    return scan_steps(train_step, trainer, xs, ys)


def export(trainer: Trainer) -> dict[str, np.ndarray]:
    out = {}
    for i, layer in enumerate(trainer.model.layers):
        out |= {f"layers.{i}.{k}": v for k, v in export_linear(layer).items()}
    return out | export_adam_at(trainer.optimizer, _paths(trainer.model))


def main() -> None:
    x, labels = problems.classification(seed=0, n=2 * problems.N, classes=problems.MLP_CLASSES)  # 2. load the data
    (x_train, x_test), (y_train, y_test) = np.split(x, 2), np.split(labels, 2)  # the second half is never trained on
    weights = init.mlp(STAGES["mlp"].init, [problems.DIN, *problems.MLP_HIDDEN, problems.MLP_CLASSES])
    trainer = build(weights, STAGES["mlp"].lr)
    steps = problems.MLP_STEPS
    xs, ys = jnp.broadcast_to(x_train, (steps, *x_train.shape)), jnp.broadcast_to(y_train, (steps, *y_train.shape))
    trainer, losses = train(trainer, xs, ys)
    print(f"loss {float(losses[0]):.4f} -> {float(losses[-1]):.4f} after {steps} steps")
    # 4. test on held-out rows: the predicted class is the largest logit
    accuracy = float(jnp.mean(jnp.argmax(predict(trainer, x_test), axis=1) == y_test))
    print(f"test accuracy {accuracy:.3f} on {len(y_test)} held-out samples")


if __name__ == "__main__":
    with jax.default_matmul_precision("highest"):
        main()
