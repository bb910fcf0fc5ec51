"""Solutions of the manual stage's exercises: a bias written by hand, and `jax.grad` against the hand-written gradient."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import torch

from netdata import problems


def torch_bias_step(w, b, x, y, lr):
    y_pred = x.mm(w) + b  # the bias broadcasts over the rows
    loss = 0.5 * (y_pred - y).pow(2).sum()
    grad_y_pred = y_pred - y
    w -= lr * x.t().mm(grad_y_pred)
    b -= lr * grad_y_pred.sum(0)  # d loss / d b: each row's error, summed over the rows
    return loss


@jax.jit
def jax_bias_step(w, b, x, y, lr):
    y_pred = x @ w + b
    loss = 0.5 * jnp.sum((y_pred - y) ** 2)
    grad_y_pred = y_pred - y
    return w - lr * x.T @ grad_y_pred, b - lr * grad_y_pred.sum(0), loss


def bias(steps: int = 200, lr: float = 1e-3) -> dict[str, float]:
    """Both frameworks with a bias from the same start: their last losses, and the loss without a bias."""
    x, y = problems.lecture(seed=0)
    w0 = problems.rng(0, problems.WEIGHT_STREAM).standard_normal((problems.DIN, problems.DOUT)).astype(np.float32)
    tw, tb, tx, ty = torch.tensor(w0), torch.zeros(problems.DOUT), torch.from_numpy(x), torch.from_numpy(y)
    jw, jb = jnp.asarray(w0), jnp.zeros(problems.DOUT)
    nb = jnp.asarray(w0)  # the same start without a bias
    with jax.default_matmul_precision("highest"):
        for _ in range(steps):
            torch_loss = torch_bias_step(tw, tb, tx, ty, lr)
            jw, jb, jax_loss = jax_bias_step(jw, jb, x, y, lr)
            nb, _, no_bias_loss = jax_bias_step(nb, jnp.zeros(problems.DOUT), x, y, lr)
    return {"torch loss": torch_loss.item(), "jax loss": float(jax_loss), "loss without bias": float(no_bias_loss)}


def hand_loss(w, x, y):
    return 0.5 * jnp.sum((x @ w - y) ** 2)


def grad_check() -> dict[str, float]:
    """`jax.grad` of the loss against the lecture's hand-written x.T @ (y_pred - y)."""
    x, y = problems.lecture(seed=0)
    w = jnp.asarray(problems.rng(0, problems.WEIGHT_STREAM).standard_normal((problems.DIN, problems.DOUT)))
    with jax.default_matmul_precision("highest"):
        by_hand = x.T @ (x @ w - y)
        automatic = jax.grad(hand_loss)(w, x, y)
    return {"relative difference": float(jnp.linalg.norm(automatic - by_hand) / jnp.linalg.norm(by_hand))}
