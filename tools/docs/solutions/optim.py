"""Solutions of the optim stage's exercises: β₂ changed in one framework or both, and how far one Adam step goes."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import torch

from netdata import init, problems


def torch_adam(weights, x, y, lr, betas, steps):
    w = torch.tensor(weights["w"], requires_grad=True)
    optimizer = torch.optim.Adam([w], lr=lr, betas=betas)
    for _ in range(steps):
        optimizer.zero_grad()
        torch.mean((torch.from_numpy(x).mm(w) - torch.from_numpy(y)) ** 2).backward()
        optimizer.step()
    return w.detach().numpy()


def jax_adam(weights, x, y, lr, b2, steps):
    tx = optax.adam(lr, b1=0.9, b2=b2)
    loss = lambda w: jnp.mean((x @ w - y) ** 2)  # noqa: E731

    def step(carry, _):
        w, state = carry
        updates, state = tx.update(jax.grad(loss)(w), state, w)
        return (optax.apply_updates(w, updates), state), None

    w = jnp.asarray(weights["w"])
    (w, _), _ = jax.lax.scan(step, (w, tx.init(w)), length=steps)
    return np.asarray(w)


def beta2(steps: int = 100, lr: float = 1e-2) -> dict[str, float]:
    """Relative difference of the weights after `steps` Adam steps: β₂ = 0.99 on both sides, then on torch's only."""
    x, y = problems.lecture(seed=0)
    weights = init.linear("torch", problems.DIN, problems.DOUT)
    with jax.default_matmul_precision("highest"):
        both = torch_adam(weights, x, y, lr, (0.9, 0.99), steps), jax_adam(weights, x, y, lr, 0.99, steps)
        one = torch_adam(weights, x, y, lr, (0.9, 0.99), steps), jax_adam(weights, x, y, lr, 0.999, steps)
    moved = np.linalg.norm(both[0] - weights["w"])  # measured relative to what moved
    return {"β₂ changed on both sides": float(np.linalg.norm(both[0] - both[1]) / moved),
            "β₂ changed on torch's side only": float(np.linalg.norm(one[0] - one[1]) / moved)}


def largest_step(quiet_steps: int = 10_000, lr: float = 1e-3) -> dict[str, float]:
    """Adam's step after `quiet_steps` zero gradients, then one gradient of 1: far more than lr."""
    tx = optax.adam(lr)
    w = jnp.zeros(1)
    first, _ = tx.update(jnp.ones(1), tx.init(w), w)  # the very first step: exactly lr
    state = tx.init(w)
    state = (state[0]._replace(count=jnp.asarray(quiet_steps, jnp.int32)), *state[1:])  # mu = nu = 0 meanwhile
    late, _ = tx.update(jnp.ones(1), state, w)
    return {"first step / lr": float(-first[0] / lr), f"step after {quiet_steps} quiet steps / lr": float(-late[0] / lr),
            "bound (1 - β₁) / √(1 - β₂)": (1 - 0.9) / (1 - 0.999) ** 0.5}
