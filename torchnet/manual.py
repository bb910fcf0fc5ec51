"""Lecture programs 1-2, by hand: forward pass, a hand-written gradient, gradient descent on `w`."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch

from netdata import init, problems
from netdata.stages import STAGES
from torchnet.device import numpy, tensor


class Trainer(NamedTuple):
    w: torch.Tensor  # (Din, Dout); updated in place
    lr: float


# 1. Define the model: y_pred = x @ w, no bias, no autograd.
def build(weights: dict[str, np.ndarray], lr: float, device: str | torch.device = "cpu") -> Trainer:
    return Trainer(w=tensor(weights["w"], device).clone(), lr=lr)


def predict(trainer: Trainer, x: torch.Tensor) -> torch.Tensor:
    return x.mm(trainer.w)  # (N, Din) @ (Din, Dout) -> (N, Dout)


# 3. Train: forward pass -> loss; backward pass written out by hand -> gradient; gradient descent.
def loss_of(trainer: Trainer, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The loss alone: a forward pass, no gradient."""
    return 0.5 * (predict(trainer, x) - y).pow(2).sum()


def loss_and_grads(trainer: Trainer, x: torch.Tensor, y: torch.Tensor):
    y_pred = predict(trainer, x)
    loss = 0.5 * (y_pred - y).pow(2).sum()
    grad_y_pred = y_pred - y  # d loss / d y_pred, (N, Dout)
    grad_w = x.t().mm(grad_y_pred)  # chain rule through y_pred = x @ w, (Din, Dout)
    return loss, {"w": grad_w}


def train_step(trainer: Trainer, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    loss, grads = loss_and_grads(trainer, x, y)
    w = trainer.w
    w -= trainer.lr * grads["w"]  # in place, as the lecture's `w -= lr * grad_w` (it wrote grad_W)
    return loss


def train(trainer: Trainer, xs: torch.Tensor, ys: torch.Tensor):
    """One step per leading index of xs (K, B, Din) and ys (K, B, Dout); losses (K,) before each step."""
    losses = torch.stack([train_step(trainer, x, y) for x, y in zip(xs, ys)])
    return trainer, losses


def export(trainer: Trainer) -> dict[str, np.ndarray]:
    return {"w": numpy(trainer.w)}


def main() -> None:
    """The lecture's program: 64 x 4 -> 2, lr 1e-6, 5000 steps, standard-normal start."""
    x, y = problems.lecture(seed=0)  # 2. load the data
    weights = init.linear(STAGES["manual"].init, problems.DIN, problems.DOUT, bias=False)
    trainer = build(weights, problems.LECTURE_LR)
    x, y = tensor(x), tensor(y)
    steps = problems.LECTURE_STEPS
    trainer, losses = train(trainer, x.expand(steps, *x.shape), y.expand(steps, *y.shape))
    print(f"loss {losses[0].item():.4f} -> {losses[-1].item():.4f} after {steps} steps")
    rows = predict(trainer, x[:3]).tolist()  # 4. test: a forward pass with the trained weights
    print("4. test, predictions for the first 3 rows:", [[round(v, 4) for v in row] for row in rows])


if __name__ == "__main__":
    main()
