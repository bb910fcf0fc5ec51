"""Solutions of the nn stage's exercises: `optax.l2_loss` in place of the mean squared error, and a missing transpose."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import torch
from flax import nnx

from netdata import init, problems


def mse(model, x, y):
    return jnp.mean((model(x) - y) ** 2)  # = F.mse_loss


def half_mse(model, x, y):
    return optax.l2_loss(model(x), y).mean()  # 0.5 * (pred - y) ** 2, averaged: half of mse


def l2_loss_gradient() -> dict[str, float]:
    """The gradient of the kernel under both losses, from the same layer."""
    x, y = problems.lecture(seed=0)
    weights = init.linear("torch", problems.DIN, problems.DOUT)
    model = nnx.Linear(problems.DIN, problems.DOUT, rngs=nnx.Rngs(0))
    model.kernel[...], model.bias[...] = weights["w"], weights["b"]
    with jax.default_matmul_precision("highest"):
        right = nnx.grad(mse)(model, x, y)["kernel"][...]
        half = nnx.grad(half_mse)(model, x, y)["kernel"][...]
    return {"gradient with l2_loss / gradient with mse": float(jnp.linalg.norm(half) / jnp.linalg.norm(right))}


def untransposed(din: int = 4, dout: int = 4) -> dict[str, float | str]:
    """torch's `weight` (Dout, Din) copied into Flax's `kernel` (Din, Dout) as it is, and transposed."""
    x, _ = problems.lecture(seed=0, din=din)
    torch.manual_seed(0)
    layer = torch.nn.Linear(din, dout)
    model = nnx.Linear(din, dout, rngs=nnx.Rngs(0))
    model.bias[...] = layer.bias.detach().numpy()
    expected = layer(torch.from_numpy(x)).detach().numpy()
    try:
        model.kernel[...] = layer.weight.detach().numpy()  # the bug: no .T
    except Exception as error:  # noqa: BLE001 - the message is the answer when Din != Dout
        return {"Din != Dout": f"{type(error).__name__}"}
    wrong = np.asarray(model(x))
    model.kernel[...] = layer.weight.detach().numpy().T  # the fix
    right = np.asarray(model(x))
    scale = np.linalg.norm(expected)
    return {"relative error without .T": float(np.linalg.norm(wrong - expected) / scale),
            "relative error with .T": float(np.linalg.norm(right - expected) / scale)}
