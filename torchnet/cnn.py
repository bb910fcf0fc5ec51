"""Lecture program 8: a CNN, (Conv2d-BatchNorm2d-ReLU-MaxPool) x2, Dropout, Linear, learns its own features.

PyTorch convolves NCHW images with OIHW kernels; the canonical weights keep kernels HWIO (Flax's layout) and
flatten the last feature map in (H, W, C) order. Both conversions happen here, at PyTorch's boundary:
kernels in `_to_torch` / `_from_torch`, the flatten order by one permute in `forward`.
"""

from __future__ import annotations

import copy
from typing import NamedTuple

import numpy as np
import torch
import torch.nn.functional as F

from netdata import batches, datasets, dropout, init, problems
from netdata.stages import STAGES
from torchnet.device import numpy, tensor
from torchnet.mlp import adamw
from torchnet.state import export_adam_params, load_adam_params

OIHW = (3, 2, 0, 1)  # HWIO -> OIHW: PyTorch's Conv2d.weight; (2, 3, 1, 0) goes back


# 1. Define the model: each block Conv2d (no bias: BatchNorm's own cancels it) -> BatchNorm2d -> ReLU -> 2x2 max-pool.
class CNN(torch.nn.Module):
    def __init__(self, channels: list[int], features: int, classes: int, kernel: int):
        super().__init__()
        pairs = list(zip(channels[:-1], channels[1:]))
        self.convs = torch.nn.ModuleList(torch.nn.Conv2d(a, b, kernel, padding=kernel // 2, bias=False) for a, b in pairs)
        # momentum: new = (1 - m) * old + m * batch. running_var takes the UNBIASED batch variance.
        self.bns = torch.nn.ModuleList(torch.nn.BatchNorm2d(b, eps=problems.BN_EPS, momentum=problems.BN_MOMENTUM)
                                       for _, b in pairs)
        self.fc = torch.nn.Linear(features, classes)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        for conv, bn in zip(self.convs, self.bns):  # x: (N, C, H, W)
            x = F.max_pool2d(F.relu(bn(conv(x))), problems.CNN_POOL)
        x = x.permute(0, 2, 3, 1).flatten(1)  # (N, H*W*C): the canonical flatten order, Flax's NHWC one
        if mask is not None:  # Dropout with netdata's mask of this step (0 or 1/(1-p)), not torch's own draw
            x = x * mask
        return self.fc(x)  # (N, classes) logits


class Trainer(NamedTuple):
    model: CNN
    optimizer: torch.optim.AdamW
    seed: int  # of the dropout masks' stream


def _to_torch(weights: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Canonical -> PyTorch layouts: every kernel-shaped array (weights and Adam's moments) HWIO -> OIHW."""
    return {k: v.transpose(OIHW) if v.ndim == 4 else v for k, v in weights.items()}


def _from_torch(arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {k: v.transpose(2, 3, 1, 0) if v.ndim == 4 else v for k, v in arrays.items()}


def _params(model: CNN) -> dict[str, tuple[torch.Tensor, bool]]:
    """Learned parameters by canonical name, each with whether PyTorch keeps it transposed (2-D only)."""
    out = {}
    for i, (conv, bn) in enumerate(zip(model.convs, model.bns)):
        out |= {f"conv.{i}.w": (conv.weight, False), f"bn.{i}.scale": (bn.weight, False), f"bn.{i}.bias": (bn.bias, False)}
    return out | {"fc.w": (model.fc.weight, True), "fc.b": (model.fc.bias, False)}


def _stats(model: CNN) -> dict[str, torch.Tensor]:
    return {f"bn.{i}.{k}": getattr(bn, f"running_{k}") for i, bn in enumerate(model.bns) for k in ("mean", "var")}


def build(weights: dict[str, np.ndarray], lr: float, device: str | torch.device = "cpu",
          weight_decay: float = 0.0) -> Trainer:
    """Sizes come from `conv.i.w` and `fc.w`; `weights` may also hold Adam state to resume from."""
    w = _to_torch(weights)
    channels, (features, classes) = init.cnn_channels(weights), weights["fc.w"].shape
    dtype = torch.from_numpy(weights["conv.0.w"]).dtype
    model = CNN(channels, features, classes, weights["conv.0.w"].shape[0]).to(device=device, dtype=dtype)
    with torch.no_grad():
        for name, (param, transposed) in _params(model).items():
            param.copy_(tensor(w[name].T if transposed else w[name]))
        for name, buffer in _stats(model).items():
            buffer.copy_(tensor(w[name]))
    optimizer = adamw(model, lr, weight_decay)  # AdamW: with weight_decay 0 exactly Adam
    load_adam_params(optimizer, _params(model), w)
    return Trainer(model, optimizer, int(weights.get("dropout.seed", 0)))


def predict(trainer: Trainer, x: torch.Tensor) -> torch.Tensor:
    trainer.model.eval()  # BatchNorm normalizes with its running statistics
    return trainer.model(x)  # (N, C) logits


def cross_entropy(model: CNN, x: torch.Tensor, labels: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    return F.cross_entropy(model(x, mask), labels)


def loss_of(trainer: Trainer, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """The loss alone, in evaluation mode: running statistics, no dropout, no gradient."""
    trainer.model.eval()
    return cross_entropy(trainer.model, x, labels)


def loss_and_grads(trainer: Trainer, x: torch.Tensor, labels: torch.Tensor):
    """The weights' gradient in training mode (batch statistics), without dropout, measured on a copy:
    a training-mode forward moves BatchNorm's running statistics, and measuring must not."""
    model = copy.deepcopy(trainer.model).train()
    loss = cross_entropy(model, x, labels)
    loss.backward()
    grads = {k: p.grad.T if transposed else p.grad for k, (p, transposed) in _params(model).items()}
    return loss.detach(), {k: g.permute(2, 3, 1, 0) if g.ndim == 4 else g for k, g in grads.items()}


def _step(trainer: Trainer) -> int:
    """Steps taken so far: Adam's count (none before the first step), which keys the dropout masks."""
    state = trainer.optimizer.state.get(trainer.model.fc.bias)
    return int(state["step"]) if state else 0


def masks(trainer: Trainer, steps: int, batch: int, dtype: torch.dtype) -> torch.Tensor:
    """(steps, batch, features) dropout masks for the next `steps` steps, from netdata's shared stream."""
    shape = (batch, trainer.model.fc.in_features)
    arrays = dropout.masks(trainer.seed, _step(trainer), steps, shape, problems.CNN_DROPOUT, np.float64)
    return tensor(arrays, trainer.model.fc.bias.device).to(dtype)


# 3. Train: the same calls as every stage since optim; train() switches BatchNorm to batch statistics.
def train_step(trainer: Trainer, x: torch.Tensor, labels: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    trainer.model.train()
    trainer.optimizer.zero_grad()
    loss = cross_entropy(trainer.model, x, labels, mask)  # also moves the running statistics
    loss.backward()
    trainer.optimizer.step()
    return loss.detach()


def train(trainer: Trainer, xs: torch.Tensor, ys: torch.Tensor):
    """One step per leading index of xs (K, B, C, H, W) and labels ys (K, B); losses (K,) before each step."""
    drop = masks(trainer, len(xs), xs[0].shape[0], xs[0].dtype)
    losses = torch.stack([train_step(trainer, x, y, m) for x, y, m in zip(xs, ys, drop)])
    return trainer, losses


def export(trainer: Trainer) -> dict[str, np.ndarray]:
    params = _params(trainer.model)
    out = {k: numpy(p.T if transposed else p) for k, (p, transposed) in params.items()}
    out |= {k: numpy(b) for k, b in _stats(trainer.model).items()}
    out |= export_adam_params(trainer.optimizer, params)
    # Copies: .numpy() of a CPU tensor shares its memory, and training goes on in place.
    return {k: np.array(v) for k, v in _from_torch(out).items()} | {"dropout.seed": np.asarray(trainer.seed, np.int64)}


def main() -> None:
    digits = datasets.digits()  # 2. load the data: 1797 images of 8x8 pixels valued 0..16, NCHW
    # float64: in float32 the twins' convolutions round differently and 100 steps part them in the 4th digit
    x, labels = tensor(digits.x.reshape(-1, 1, 8, 8) / 16.0), tensor(digits.labels)
    (x_train, x_test), (y_train, y_test) = x.tensor_split(2), labels.tensor_split(2)  # never trained on the second half
    channels = [1, *problems.CNN_CHANNELS]
    weights = init.cnn(STAGES["cnn"].init, channels, 2 * 2 * channels[-1], len(digits.class_names),
                       dtype=np.float64)
    trainer = build(weights, STAGES["cnn"].lr)
    steps = problems.CNN_STEPS
    order = torch.from_numpy(batches.indices(0, len(y_train), problems.CNN_BATCH, 0, steps))  # (steps, B): netdata's order
    xs, ys = x_train[order], y_train[order]  # minibatches: 14x less work than 899 images
    trainer, losses = train(trainer, xs, ys)
    print(f"loss {losses[0].item():.4f} -> {losses[-1].item():.4f} after {steps} steps")
    with torch.no_grad():  # 4. test on held-out images: the predicted class is the largest logit
        accuracy = (predict(trainer, x_test).argmax(dim=1) == y_test).double().mean().item()
    print(f"test accuracy {accuracy:.3f} on {len(y_test)} held-out samples")


if __name__ == "__main__":
    main()
