"""Lecture program 6: the model as an `nn.Module` subclass (`MyOneLayerNet`), trained by Adam."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch
import torch.nn.functional as F

from netdata import init, problems
from netdata.stages import STAGES
from torchnet.device import tensor
from torchnet.optim import adam
from torchnet.state import export_adam, export_linear, linear_grads, load_adam, load_linear


# 1. Define the model: a class whose forward() says what the network computes.
class MyOneLayerNet(torch.nn.Module):
    def __init__(self, din: int, dout: int):
        super().__init__()
        self.linear = torch.nn.Linear(din, dout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x)  # (N, Din) -> (N, Dout)


class Trainer(NamedTuple):
    model: MyOneLayerNet
    optimizer: torch.optim.Adam


def build(weights: dict[str, np.ndarray], lr: float, device: str | torch.device = "cpu") -> Trainer:
    din, dout = weights["w"].shape
    model = MyOneLayerNet(din, dout).to(device=device, dtype=torch.from_numpy(weights["w"]).dtype)
    load_linear(model.linear, weights)
    optimizer = adam(model, lr)
    load_adam(optimizer, model.linear, weights)
    return Trainer(model, optimizer)


def predict(trainer: Trainer, x: torch.Tensor) -> torch.Tensor:
    return trainer.model(x)


def mse(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return F.mse_loss(model(x), y)  # the mean over all elements


def loss_of(trainer: Trainer, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The loss alone: a forward pass, no gradient."""
    return mse(trainer.model, x, y)


def loss_and_grads(trainer: Trainer, x: torch.Tensor, y: torch.Tensor):
    trainer.optimizer.zero_grad()
    loss = mse(trainer.model, x, y)
    loss.backward()
    return loss.detach(), {k: g.clone() for k, g in linear_grads(trainer.model.linear).items()}


# 3. Train: the same four calls as the optim stage; only the model's definition changed.
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
    return export_linear(trainer.model.linear) | export_adam(trainer.optimizer, trainer.model.linear)


def main() -> None:
    x, y = problems.lecture(seed=0)  # 2. load the data
    weights = init.linear(STAGES["module"].init, problems.DIN, problems.DOUT)
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
