"""Solutions of the mlp stage's exercises: Optax's cross-entropy without `.mean()`, and a softmax too many."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax
from flax import nnx

from jaxnet import mlp
from netdata import init, problems


def summed(model, x, labels):
    return optax.softmax_cross_entropy_with_integer_labels(model(x), labels).sum()  # the bug: no .mean()


def softmax_twice(model, x, labels):
    probabilities = nnx.softmax(model(x))  # a softmax in the model...
    return optax.softmax_cross_entropy_with_integer_labels(probabilities, labels).mean()  # ...and one in the loss


def _model():
    x, labels = problems.classification(seed=0, classes=problems.MLP_CLASSES)
    sizes = [problems.DIN, *problems.MLP_HIDDEN, problems.MLP_CLASSES]
    trainer = mlp.build(init.mlp("torch", sizes, seed=0), lr=1e-2)
    return trainer.model, x, labels


def no_mean() -> dict[str, float]:
    model, x, labels = _model()
    with jax.default_matmul_precision("highest"):
        right = nnx.grad(mlp.cross_entropy)(model, x, labels)
        wrong = nnx.grad(summed)(model, x, labels)
    norm = lambda g: jnp.sqrt(sum(jnp.sum(leaf ** 2) for leaf in jax.tree.leaves(g)))  # noqa: E731
    return {"gradient without .mean() / gradient with it": float(norm(wrong) / norm(right)), "batch size": len(x)}


def double_softmax() -> dict[str, float]:
    model, x, labels = _model()
    with jax.default_matmul_precision("highest"):
        right, wrong = mlp.cross_entropy(model, x, labels), softmax_twice(model, x, labels)
        grads = [nnx.grad(f)(model, x, labels) for f in (mlp.cross_entropy, softmax_twice)]
    norm = lambda g: jnp.sqrt(sum(jnp.sum(leaf ** 2) for leaf in jax.tree.leaves(g)))  # noqa: E731
    return {"loss": float(right), "loss with a softmax too many": float(wrong),
            "gradient with it / gradient without": float(norm(grads[1]) / norm(grads[0]))}
