"""Lecture program 5: the same Linear model, updated by `torch.optim.Adam` instead of by hand."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch
import torch.nn.functional as F

from netdata import init, problems
from torchnet.device import tensor
from torchnet.state import export_adam, export_linear, linear_grads, load_adam, load_linear

BETAS, EPS = (0.9, 0.999), 1e-8  # torch.optim.Adam's defaults, spelled out for the JAX twin


class Trainer(NamedTuple):
    model: torch.nn.Sequential
    optimizer: torch.optim.Adam


# 1. Define the model and its optimizer. `weights` may also hold Adam state to resume from.
def build(weights: dict[str, np.ndarray], lr: float, device: str | torch.device = "cpu") -> Trainer:
    din, dout = weights["w"].shape
    model = torch.nn.Sequential(torch.nn.Linear(din, dout)).to(device=device, dtype=torch.from_numpy(weights["w"]).dtype)
    load_linear(model[0], weights)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, betas=BETAS, eps=EPS)
    load_adam(optimizer, model[0], weights)
    return Trainer(model, optimizer)


def predict(trainer: Trainer, x: torch.Tensor) -> torch.Tensor:
    return trainer.model(x)  # (N, Dout)


def loss_and_grads(trainer: Trainer, x: torch.Tensor, y: torch.Tensor):
    trainer.optimizer.zero_grad()
    loss = F.mse_loss(predict(trainer, x), y)
    loss.backward()
    return loss.detach(), {k: g.clone() for k, g in linear_grads(trainer.model[0]).items()}


# 3. Train: zero_grad -> forward -> loss -> backward -> optimizer.step().
def train_step(trainer: Trainer, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    trainer.optimizer.zero_grad()
    loss = F.mse_loss(trainer.model(x), y)
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
    trainer = build(init.linear("torch", problems.DIN, problems.DOUT), problems.LECTURE_LR)
    x, y = tensor(x), tensor(y)
    steps = problems.LECTURE_STEPS
    trainer, losses = train(trainer, x.expand(steps, *x.shape), y.expand(steps, *y.shape))
    print(f"loss {losses[0].item():.4f} -> {losses[-1].item():.4f} after {steps} steps")
    with torch.no_grad():  # 4. test
        print("predictions:", predict(trainer, x[:3]).tolist())


if __name__ == "__main__":
    main()
