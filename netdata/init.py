"""Step 1 of the lecture, "define the model": initial weights in the canonical layout, any scheme.

Canonical layout: `w` of shape (Din, Dout) and `b` of shape (Dout,), used as `x @ w + b`.
PyTorch stores `nn.Linear.weight` as `w.T`; Flax's `nnx.Linear.kernel` is `w` itself.
"""

from __future__ import annotations

import numpy as np

from netdata.errors import InputError
from netdata.problems import WEIGHT_STREAM, rng

SCHEMES = ("randn", "constant", "zeros", "torch", "flax")
CONSTANT = 0.5  # the lecture's example of a constant start


def _truncated_normal(g: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Standard normal truncated to (-2, 2), as jax.random.truncated_normal, by rejection."""
    out = g.standard_normal(shape)
    bad = np.abs(out) >= 2.0
    while bad.any():
        out[bad] = g.standard_normal(int(bad.sum()))
        bad = np.abs(out) >= 2.0
    return out


def linear(scheme: str, din: int, dout: int, seed: int = 0, bias: bool = True,
           dtype=np.float32, layer: int = 0) -> dict[str, np.ndarray]:
    """Weights of one linear layer: {'w': (Din, Dout)} plus {'b': (Dout,)} when `bias`."""
    g = rng(seed, WEIGHT_STREAM, layer)
    if scheme == "randn":  # the lecture's torch.randn(Din, Dout)
        w, b = g.standard_normal((din, dout)), g.standard_normal(dout)
    elif scheme == "constant":
        w, b = np.full((din, dout), CONSTANT), np.full(dout, CONSTANT)
    elif scheme == "zeros":
        w, b = np.zeros((din, dout)), np.zeros(dout)
    elif scheme == "torch":  # nn.Linear.reset_parameters: U(-1/sqrt(fan_in), 1/sqrt(fan_in))
        bound = 1.0 / np.sqrt(din)
        w, b = g.uniform(-bound, bound, (din, dout)), g.uniform(-bound, bound, dout)
    elif scheme == "flax":  # lecun_normal: truncated normal, variance 1/fan_in; zero bias
        # 0.8796... is the std of a standard normal truncated to (-2, 2); dividing restores var 1.
        w = _truncated_normal(g, (din, dout)) * np.sqrt(1.0 / din) / 0.87962566103423978
        b = np.zeros(dout)
    else:
        raise InputError(f"unknown init scheme {scheme!r}; use one of {', '.join(SCHEMES)} or a weights file")
    out = {"w": w.astype(dtype)}
    if bias:
        out["b"] = b.astype(dtype)
    return out


def mlp(scheme: str, sizes: list[int], seed: int = 0, dtype=np.float32) -> dict[str, np.ndarray]:
    """Weights of Linear-ReLU-...-Linear for sizes [Din, H1, ..., C]: `layers.i.w` (in, out), `layers.i.b`.

    Layer i draws from its own stream (`layer=i`), so widening one layer never changes another's start.
    """
    if len(sizes) < 2 or min(sizes) < 1:
        raise InputError(f"an MLP needs at least [Din, C] sizes of 1 or more, got {list(sizes)}")
    out = {}
    for i, (din, dout) in enumerate(zip(sizes[:-1], sizes[1:])):
        out |= {f"layers.{i}.{k}": v for k, v in linear(scheme, din, dout, seed, dtype=dtype, layer=i).items()}
    return out


def mlp_sizes(weights: dict[str, np.ndarray]) -> list[int]:
    """[Din, H1, ..., C] read back from `layers.i.w`; the inverse of `mlp`'s layout."""
    count = sum(1 for k in weights if k.startswith("layers.") and k.endswith(".w"))
    if count == 0 or any(f"layers.{i}.w" not in weights for i in range(count)):
        raise InputError(f"not MLP weights: expected layers.0.w, layers.1.w, ..., got {sorted(weights)}")
    shapes = [weights[f"layers.{i}.w"].shape for i in range(count)]
    if any(a[1] != b[0] for a, b in zip(shapes, shapes[1:])):
        raise InputError(f"MLP layer shapes do not chain: {shapes}")
    return [shapes[0][0], *(s[1] for s in shapes)]
