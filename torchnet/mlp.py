"""Lecture program 7: a multi-layer perceptron (Linear-ReLU-...-Linear) classifying, trained by Adam."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch
import torch.nn.functional as F

from netdata import init, problems
from netdata.stages import STAGES
from netdata.problems import BETAS, EPS
from torchnet.device import tensor
from torchnet.state import export_adam_params, export_linear, linear_grads, load_adam_params, load_linear, named


# 1. Define the model: Linear layers with a ReLU between each pair, none after the last.
class MLP(torch.nn.Module):
    def __init__(self, sizes: list[int]):
        super().__init__()
        self.layers = torch.nn.ModuleList(torch.nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers[:-1]:
            x = F.relu(layer(x))  # (N, H)
        return self.layers[-1](x)  # (N, C) logits: F.cross_entropy applies the softmax itself


class Trainer(NamedTuple):
    model: MLP
    optimizer: torch.optim.AdamW


def adamw(model: MLP, lr: float, weight_decay: float) -> torch.optim.AdamW:
    """`torch.optim.AdamW` (decoupled: w -= lr * wd * w, then Adam's step); with weight_decay 0 exactly Adam."""
    return torch.optim.AdamW(model.parameters(), lr=lr, betas=BETAS, eps=EPS, weight_decay=weight_decay)


def _layer(weights: dict[str, np.ndarray], i: int) -> dict[str, np.ndarray]:
    return {k: weights[f"layers.{i}.{k}"] for k in ("w", "b")}


def _params(model: MLP) -> dict[str, tuple[torch.Tensor, bool]]:
    return {k: v for i, layer in enumerate(model.layers) for k, v in named(layer, f"layers.{i}.").items()}


def build(weights: dict[str, np.ndarray], lr: float, device: str | torch.device = "cpu",
          weight_decay: float = 0.0) -> Trainer:
    """Layer sizes come from `layers.i.w`; `weights` may also hold Adam state to resume from."""
    model = MLP(init.mlp_sizes(weights)).to(device=device, dtype=torch.from_numpy(weights["layers.0.w"]).dtype)
    for i, layer in enumerate(model.layers):
        load_linear(layer, _layer(weights, i))
    optimizer = adamw(model, lr, weight_decay)
    load_adam_params(optimizer, _params(model), weights)
    return Trainer(model, optimizer)


def predict(trainer: Trainer, x: torch.Tensor) -> torch.Tensor:
    return trainer.model(x)  # (N, C) logits


def cross_entropy(model: MLP, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(model(x), labels)  # mean over the batch of -log softmax(logits)[label]


def loss_of(trainer: Trainer, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """The loss alone: a forward pass, no gradient."""
    return cross_entropy(trainer.model, x, labels)


def loss_and_grads(trainer: Trainer, x: torch.Tensor, labels: torch.Tensor):
    trainer.optimizer.zero_grad()
    loss = cross_entropy(trainer.model, x, labels)
    loss.backward()
    grads = {}
    for i, layer in enumerate(trainer.model.layers):
        grads |= {f"layers.{i}.{k}": g.clone() for k, g in linear_grads(layer).items()}
    return loss.detach(), grads


# 3. Train: the same four calls as every stage since optim; only the model and the loss changed.
def train_step(trainer: Trainer, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    trainer.optimizer.zero_grad()
    loss = cross_entropy(trainer.model, x, labels)
    loss.backward()
    trainer.optimizer.step()
    return loss.detach()


def train(trainer: Trainer, xs: torch.Tensor, ys: torch.Tensor):
    """One step per leading index of xs (K, B, Din) and labels ys (K, B); losses (K,) before each step."""
    losses = torch.stack([train_step(trainer, x, y) for x, y in zip(xs, ys)])
    return trainer, losses


def export(trainer: Trainer) -> dict[str, np.ndarray]:
    out = {}
    for i, layer in enumerate(trainer.model.layers):
        out |= {f"layers.{i}.{k}": v for k, v in export_linear(layer).items()}
    out |= export_adam_params(trainer.optimizer, _params(trainer.model))
    # Copies: .numpy() of a CPU tensor shares its memory, and training goes on in place.
    return {k: np.array(v) for k, v in out.items()}


def main() -> None:
    x, labels = problems.classification(seed=0, n=2 * problems.N, classes=problems.MLP_CLASSES)  # 2. load the data
    x, labels = tensor(x), tensor(labels)
    (x_train, x_test), (y_train, y_test) = x.chunk(2), labels.chunk(2)  # the second half is never trained on
    weights = init.mlp(STAGES["mlp"].init, [problems.DIN, *problems.MLP_HIDDEN, problems.MLP_CLASSES])
    trainer = build(weights, STAGES["mlp"].lr)
    steps = problems.MLP_STEPS
    xs, ys = x_train.expand(steps, *x_train.shape), y_train.expand(steps, *y_train.shape)
    trainer, losses = train(trainer, xs, ys)
    print(f"loss {losses[0].item():.4f} -> {losses[-1].item():.4f} after {steps} steps")
    with torch.no_grad():  # 4. test on held-out rows: the predicted class is the largest logit
        accuracy = (predict(trainer, x_test).argmax(dim=1) == y_test).double().mean().item()
    print(f"test accuracy {accuracy:.3f} on {len(y_test)} held-out samples")


if __name__ == "__main__":
    main()
