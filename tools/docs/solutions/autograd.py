"""Solutions of the autograd stage's exercises: a forgotten `zero_()`, and a gradient with respect to the input too."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import torch

from netdata import problems


def _data():
    x, y = problems.lecture(seed=0)
    w = problems.rng(0, problems.WEIGHT_STREAM).standard_normal((problems.DIN, problems.DOUT)).astype(np.float32)
    return w, x, y


def forgotten_zero_grad() -> dict[str, float]:
    """Two backward passes at the same weights, without `w.grad.zero_()` between them."""
    w0, x, y = _data()
    w, x, y = torch.tensor(w0, requires_grad=True), torch.from_numpy(x), torch.from_numpy(y)
    (0.5 * (x.mm(w) - y).pow(2).sum()).backward()
    first = w.grad.clone()
    (0.5 * (x.mm(w) - y).pow(2).sum()).backward()  # no w.grad.zero_() before it: the new gradient is added
    return {"second .grad / first .grad": (w.grad.norm() / first.norm()).item()}


def loss_fn(params, x, y):
    return 0.5 * jnp.sum((x @ params["w"] - y) ** 2)


def input_gradient() -> dict[str, float]:
    """d loss / d x in both frameworks: `argnums=(0, 1)` in JAX, `requires_grad` on x in PyTorch."""
    w0, x0, y0 = _data()
    with jax.default_matmul_precision("highest"):
        grad_params, grad_x = jax.grad(loss_fn, argnums=(0, 1))({"w": jnp.asarray(w0)}, x0, y0)
    w, x = torch.tensor(w0, requires_grad=True), torch.tensor(x0, requires_grad=True)
    (0.5 * (x.mm(w) - torch.from_numpy(y0)).pow(2).sum()).backward()
    diff = np.linalg.norm(np.asarray(grad_x) - x.grad.numpy()) / np.linalg.norm(x.grad.numpy())
    return {"shape of d loss / d x": str(tuple(grad_x.shape)), "relative difference": float(diff)}
