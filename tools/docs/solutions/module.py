"""Solutions of the module stage's exercises: a second layer in both classes, and seeds that do not line up."""

from __future__ import annotations

import jax
import numpy as np
import torch
from flax import nnx

from netdata import init, problems


class TorchTwoLayerNet(torch.nn.Module):
    def __init__(self, din: int, hidden: int, dout: int):
        super().__init__()
        self.hidden = torch.nn.Linear(din, hidden)
        self.out = torch.nn.Linear(hidden, dout)

    def forward(self, x):
        return self.out(torch.relu(self.hidden(x)))


class JaxTwoLayerNet(nnx.Module):
    def __init__(self, din: int, hidden: int, dout: int, rngs: nnx.Rngs):
        self.hidden = nnx.Linear(din, hidden, rngs=rngs)
        self.out = nnx.Linear(hidden, dout, rngs=rngs)

    def __call__(self, x):
        return self.out(nnx.relu(self.hidden(x)))


def two_layers(hidden: int = 8) -> dict[str, float]:
    """Both classes loaded with the same weights (torch's `weight` is the transpose of `kernel`)."""
    x, _ = problems.lecture(seed=0)
    first = init.linear("torch", problems.DIN, hidden, seed=0)
    second = init.linear("torch", hidden, problems.DOUT, seed=1)
    pt, jx = TorchTwoLayerNet(problems.DIN, hidden, problems.DOUT), JaxTwoLayerNet(problems.DIN, hidden,
                                                                                  problems.DOUT, nnx.Rngs(0))
    with torch.no_grad():
        for layer, w in ((pt.hidden, first), (pt.out, second)):
            layer.weight.copy_(torch.from_numpy(w["w"].T))
            layer.bias.copy_(torch.from_numpy(w["b"]))
    for layer, w in ((jx.hidden, first), (jx.out, second)):
        layer.kernel[...], layer.bias[...] = w["w"], w["b"]
    expected = pt(torch.from_numpy(x)).detach().numpy()
    with jax.default_matmul_precision("highest"):
        got = np.asarray(jx(x))
    return {"relative difference of the outputs": float(np.linalg.norm(got - expected) / np.linalg.norm(expected))}


def same_seed() -> dict[str, float]:
    """`torch.manual_seed(0)` and `nnx.Rngs(0)`: the same number, different first weights."""
    torch.manual_seed(0)
    weight = torch.nn.Linear(problems.DIN, problems.DOUT).weight.detach().numpy().T
    kernel = np.asarray(nnx.Linear(problems.DIN, problems.DOUT, rngs=nnx.Rngs(0)).kernel[...])
    return {"largest |weight.T - kernel|": float(np.abs(weight - kernel).max())}
