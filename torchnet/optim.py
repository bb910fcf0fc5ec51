"""Lecture program 5: the same Linear model, updated by `torch.optim.Adam` instead of by hand."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch
import torch.nn.functional as F

from netdata import init, problems
from netdata.stages import STAGES
from netdata.problems import BETAS, EPS
from torchnet.device import tensor
from torchnet.state import export_adam, export_linear, linear_grads, load_adam, load_linear


class Trainer(NamedTuple):
    model: torch.nn.Sequential
    optimizer: torch.optim.Adam


def adam(model: torch.nn.Module, lr: float) -> torch.optim.Adam:
    """`torch.optim.Adam` over the model's parameters, with the betas and eps the JAX twin spells out too."""
    return torch.optim.Adam(model.parameters(), lr=lr, betas=BETAS, eps=EPS)


# 1. Define the model and its optimizer. `weights` may also hold Adam state to resume from.
def build(weights: dict[str, np.ndarray], lr: float, device: str | torch.device = "cpu") -> Trainer:
    din, dout = weights["w"].shape
    model = torch.nn.Sequential(torch.nn.Linear(din, dout)).to(device=device, dtype=torch.from_numpy(weights["w"]).dtype)
    load_linear(model[0], weights)
    optimizer = adam(model, lr)
    load_adam(optimizer, model[0], weights)
    return Trainer(model, optimizer)


def predict(trainer: Trainer, x: torch.Tensor) -> torch.Tensor:
    return trainer.model(x)  # (N, Dout)


def mse(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return F.mse_loss(model(x), y)  # the mean over all elements


def loss_of(trainer: Trainer, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The loss alone: a forward pass, no gradient."""
    return mse(trainer.model, x, y)


def loss_and_grads(trainer: Trainer, x: torch.Tensor, y: torch.Tensor):
    trainer.optimizer.zero_grad()
    loss = mse(trainer.model, x, y)
    loss.backward()
    return loss.detach(), {k: g.clone() for k, g in linear_grads(trainer.model[0]).items()}


# 3. Train: zero_grad -> forward -> loss -> backward -> optimizer.step().
def train_step(trainer: Trainer, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    trainer.optimizer.zero_grad()
    loss = mse(trainer.model, x, y)
    loss.backward()
    trainer.optimizer.step()
    return loss.detach()


def train(trainer: Trainer, xs: torch.Tensor, ys: torch.Tensor):
    """One step per leading index of xs (K, B, Din) and ys (K, B, Dout); losses (K,) before each step."""
    losses = torch.stack([train_step(trainer, x, y) for x, y in zip(xs, ys)])
    return trainer, losses


def export(trainer: Trainer) -> dict[str, np.ndarray]:
    return export_linear(trainer.model[0]) | export_adam(trainer.optimizer, trainer.model[0])


def main() -> None:
    x, y = problems.lecture(seed=0)  # 2. load the data
    weights = init.linear(STAGES["optim"].init, problems.DIN, problems.DOUT)
    trainer = build(weights, problems.LECTURE_LR)
    x, y = tensor(x), tensor(y)
    steps = problems.LECTURE_STEPS
    trainer, losses = train(trainer, x.expand(steps, *x.shape), y.expand(steps, *y.shape))
    print(f"loss {losses[0].item():.4f} -> {losses[-1].item():.4f} after {steps} steps")
    with torch.no_grad():  # 4. test: a forward pass with the trained weights, no graph needed
        rows = predict(trainer, x[:3]).tolist()
    print("4. test, predictions for the first 3 rows:", [[round(v, 4) for v in row] for row in rows])


if __name__ == "__main__":
    main()
