"""Lecture program 3, autograd: `loss.backward()` computes the gradient the manual stage wrote by hand."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch

from netdata import init, problems
from torchnet.device import numpy, tensor


class Trainer(NamedTuple):
    w: torch.Tensor  # (Din, Dout), requires_grad: the lecture forgot this flag
    lr: float


# 1. Define the model: the same y_pred = x @ w, but w records the operations done with it.
def build(weights: dict[str, np.ndarray], lr: float, device: str | torch.device = "cpu") -> Trainer:
    return Trainer(w=tensor(weights["w"], device).clone().requires_grad_(True), lr=lr)


def predict(trainer: Trainer, x: torch.Tensor) -> torch.Tensor:
    return x.mm(trainer.w)  # (N, Dout)


# 3. Train: forward pass -> loss; loss.backward() fills w.grad; update outside the graph.
def loss_and_grads(trainer: Trainer, x: torch.Tensor, y: torch.Tensor):
    loss = 0.5 * (predict(trainer, x) - y).pow(2).sum()
    loss.backward()
    grad_w = trainer.w.grad.clone()
    trainer.w.grad.zero_()  # backward() adds into .grad; clear it so the next call starts at 0
    return loss.detach(), {"w": grad_w}


def train_step(trainer: Trainer, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    loss = 0.5 * (predict(trainer, x) - y).pow(2).sum()
    loss.backward()
    w = trainer.w
    with torch.no_grad():  # the update itself must not become part of the graph
        w -= trainer.lr * w.grad
        w.grad.zero_()
    return loss.detach()


def train(trainer: Trainer, xs: torch.Tensor, ys: torch.Tensor):
    """One step per leading index of xs (K, B, Din) and ys (K, B, Dout); losses (K,) before each step."""
    losses = torch.stack([train_step(trainer, x, y) for x, y in zip(xs, ys)])
    return trainer, losses


def export(trainer: Trainer) -> dict[str, np.ndarray]:
    return {"w": numpy(trainer.w)}


def main() -> None:
    x, y = problems.lecture(seed=0)  # 2. load the data
    trainer = build(init.linear("randn", problems.DIN, problems.DOUT, bias=False), problems.LECTURE_LR)
    x, y = tensor(x), tensor(y)
    steps = problems.LECTURE_STEPS
    trainer, losses = train(trainer, x.expand(steps, *x.shape), y.expand(steps, *y.shape))
    print(f"loss {losses[0].item():.4f} -> {losses[-1].item():.4f} after {steps} steps")
    with torch.no_grad():  # 4. test: a forward pass with the trained w, no graph needed
        print("predictions:", predict(trainer, x[:3]).tolist())


if __name__ == "__main__":
    main()
