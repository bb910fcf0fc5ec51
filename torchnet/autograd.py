"""Lecture program 3, autograd: `loss.backward()` computes the gradient the manual stage wrote by hand."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch

from netdata import init, problems
from netdata.stages import STAGES
from torchnet.device import numpy, tensor


class Trainer(NamedTuple):
    params: dict[str, torch.Tensor]  # {'w': (Din, Dout)}, requires_grad: the lecture forgot this flag
    lr: float


# 1. Define the model: the same y_pred = x @ w, but w records the operations done with it.
def build(weights: dict[str, np.ndarray], lr: float, device: str | torch.device = "cpu") -> Trainer:
    return Trainer(params={"w": tensor(weights["w"], device).clone().requires_grad_(True)}, lr=lr)


def forward(params: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    return x.mm(params["w"])  # (N, Dout)


def loss_fn(params: dict[str, torch.Tensor], x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return 0.5 * (forward(params, x) - y).pow(2).sum()


def predict(trainer: Trainer, x: torch.Tensor) -> torch.Tensor:
    return forward(trainer.params, x)


# 3. Train: forward pass -> loss; loss.backward() fills w.grad; update outside the graph.
def loss_of(trainer: Trainer, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The loss alone: a forward pass, no gradient."""
    return loss_fn(trainer.params, x, y)


def loss_and_grads(trainer: Trainer, x: torch.Tensor, y: torch.Tensor):
    loss = loss_fn(trainer.params, x, y)
    loss.backward()
    grads = {k: p.grad.clone() for k, p in trainer.params.items()}
    for p in trainer.params.values():
        p.grad.zero_()  # backward() adds into .grad; clear it so the next call starts at 0
    return loss.detach(), grads


def train_step(trainer: Trainer, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    loss = loss_fn(trainer.params, x, y)
    loss.backward()
    with torch.no_grad():  # the update itself must not become part of the graph
        for p in trainer.params.values():
            p -= trainer.lr * p.grad
            p.grad.zero_()
    return loss.detach()


def train(trainer: Trainer, xs: torch.Tensor, ys: torch.Tensor):
    """One step per leading index of xs (K, B, Din) and ys (K, B, Dout); losses (K,) before each step."""
    losses = torch.stack([train_step(trainer, x, y) for x, y in zip(xs, ys)])
    return trainer, losses


def export(trainer: Trainer) -> dict[str, np.ndarray]:
    return {"w": numpy(trainer.params["w"])}


def main() -> None:
    x, y = problems.lecture(seed=0)  # 2. load the data
    weights = init.linear(STAGES["autograd"].init, problems.DIN, problems.DOUT, bias=False)
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
