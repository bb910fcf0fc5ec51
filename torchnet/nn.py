"""Lecture program 4: `nn.Sequential(nn.Linear)` with a bias and `mse_loss`, updated by hand."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch
import torch.nn.functional as F

from netdata import init, problems
from netdata.stages import STAGES
from torchnet.device import tensor
from torchnet.state import export_linear, linear_grads, load_linear


class Trainer(NamedTuple):
    model: torch.nn.Sequential
    lr: float


# 1. Define the model: one Linear layer, y_pred = x @ weight.T + bias (weight is our w.T).
def build(weights: dict[str, np.ndarray], lr: float, device: str | torch.device = "cpu") -> Trainer:
    din, dout = weights["w"].shape
    model = torch.nn.Sequential(torch.nn.Linear(din, dout)).to(device=device, dtype=torch.from_numpy(weights["w"]).dtype)
    load_linear(model[0], weights)
    return Trainer(model, lr)


def predict(trainer: Trainer, x: torch.Tensor) -> torch.Tensor:
    return trainer.model(x)  # (N, Dout)


def mse(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    # mse_loss is the mean over all N * Dout elements, unlike the manual stage's 0.5 * sum.
    return F.mse_loss(model(x), y)


def loss_of(trainer: Trainer, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The loss alone: a forward pass, no gradient."""
    return mse(trainer.model, x, y)


def loss_and_grads(trainer: Trainer, x: torch.Tensor, y: torch.Tensor):
    trainer.model.zero_grad()
    loss = mse(trainer.model, x, y)
    loss.backward()
    return loss.detach(), {k: g.clone() for k, g in linear_grads(trainer.model[0]).items()}


# 3. Train: backward() fills each parameter's .grad, then p -= lr * grad for every parameter.
def train_step(trainer: Trainer, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    trainer.model.zero_grad()
    loss = mse(trainer.model, x, y)
    loss.backward()
    with torch.no_grad():  # the lecture's loop, with the missing ':' restored
        for param in trainer.model.parameters():
            param -= trainer.lr * param.grad
    return loss.detach()


def train(trainer: Trainer, xs: torch.Tensor, ys: torch.Tensor):
    """One step per leading index of xs (K, B, Din) and ys (K, B, Dout); losses (K,) before each step."""
    losses = torch.stack([train_step(trainer, x, y) for x, y in zip(xs, ys)])
    return trainer, losses


def export(trainer: Trainer) -> dict[str, np.ndarray]:
    return export_linear(trainer.model[0])


def main() -> None:
    x, y = problems.lecture(seed=0)  # 2. load the data
    weights = init.linear(STAGES["nn"].init, problems.DIN, problems.DOUT)
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
