"""Step 1 of the lecture, "define the model": initial weights in the canonical layout, any scheme.

Canonical layout: `w` of shape (Din, Dout) and `b` of shape (Dout,), used as `x @ w + b`.
PyTorch stores `nn.Linear.weight` as `w.T`; Flax's `nnx.Linear.kernel` is `w` itself.
CNN: images NCHW (N, C, H, W); kernels `conv.i.w` HWIO (kh, kw, Cin, Cout), Flax's layout (PyTorch's OIHW is
w.transpose(3, 2, 0, 1)); the last feature map is flattened in (H, W, C) order into `fc.w` (features, classes);
BatchNorm's `bn.i.scale`, `bn.i.bias` and its running `bn.i.mean`, `bn.i.var` (PyTorch's convention: the
unbiased batch variance) are saved as named arrays beside them.
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


def conv(scheme: str, kernel: int, cin: int, cout: int, seed: int = 0, dtype=np.float32,
         layer: int = 0) -> np.ndarray:
    """A conv kernel in the canonical layout HWIO (kh, kw, Cin, Cout), as Flax's nnx.Conv keeps it.

    PyTorch's Conv2d.weight is OIHW: w.transpose(3, 2, 0, 1). fan_in = kh * kw * Cin in both frameworks, so
    "torch" (Conv2d's default, U(+-1/sqrt(fan_in)) like nn.Linear) and "flax" (lecun-normal) keep their
    meaning. No bias: BatchNorm follows each conv and would cancel it.
    """
    fan_in = kernel * kernel * cin
    flat = linear(scheme, fan_in, cout, seed, bias=False, dtype=np.float64, layer=layer)["w"]  # (kh*kw*Cin, Cout)
    return flat.reshape(kernel, kernel, cin, cout).astype(dtype)


def cnn(scheme: str, channels: list[int], features: int, classes: int, seed: int = 0, kernel: int = 3,
        dtype=np.float32) -> dict[str, np.ndarray]:
    """Weights of (Conv-BatchNorm-ReLU-MaxPool) x len(channels)-1, Dropout, Linear, in canonical names.

    `channels` = [Cin, C1, C2, ...]; `features` = the Linear's inputs (H' * W' * C_last after the pools).
    conv.i.w (kh, kw, Cin, Cout); bn.i.scale, bn.i.bias (learned, 1 and 0 at the start, as in both
    frameworks); bn.i.mean, bn.i.var (running statistics, 0 and 1); fc.w (features, classes), fc.b; and
    dropout.seed, the seed of the dropout masks' stream (netdata.dropout), so that either framework
    resuming the run draws the masks the other would have drawn.
    """
    if len(channels) < 2 or min(channels) < 1 or features < 1 or classes < 1:
        raise InputError(f"a CNN needs channels [Cin, C1, ...] of 1 or more, features and classes, got "
                         f"{list(channels)}, {features}, {classes}")
    out = {}
    for i, (cin, cout) in enumerate(zip(channels[:-1], channels[1:])):
        out[f"conv.{i}.w"] = conv(scheme, kernel, cin, cout, seed, dtype, layer=i)
        out[f"bn.{i}.scale"], out[f"bn.{i}.bias"] = np.ones(cout, dtype), np.zeros(cout, dtype)
        out[f"bn.{i}.mean"], out[f"bn.{i}.var"] = np.zeros(cout, dtype), np.ones(cout, dtype)
    fc = linear(scheme, features, classes, seed, dtype=dtype, layer=len(channels) - 1)
    return out | {"fc.w": fc["w"], "fc.b": fc["b"], "dropout.seed": np.asarray(seed, dtype=np.int64)}


def cnn_channels(weights: dict[str, np.ndarray]) -> list[int]:
    """[Cin, C1, ...] read back from `conv.i.w`; the inverse of `cnn`'s layout."""
    count = sum(1 for k in weights if k.startswith("conv.") and k.endswith(".w"))
    if count == 0 or any(f"conv.{i}.w" not in weights or weights[f"conv.{i}.w"].ndim != 4 for i in range(count)):
        raise InputError(f"not CNN weights: expected conv.0.w, conv.1.w, ... of shape (kh, kw, Cin, Cout), "
                         f"got {sorted(weights)}")
    shapes = [weights[f"conv.{i}.w"].shape for i in range(count)]
    if any(a[3] != b[2] for a, b in zip(shapes, shapes[1:])):
        raise InputError(f"CNN kernel shapes do not chain (Cout of one is Cin of the next): {shapes}")
    return [shapes[0][2], *(s[3] for s in shapes)]


def cnn_features(channels: list[int], height: int, width: int, pool: int = 2) -> int:
    """The Linear's inputs: H' * W' * C_last after one (floor) pool per conv block."""
    blocks = len(channels) - 1
    return (height // pool**blocks) * (width // pool**blocks) * channels[-1]


def check_cnn(weights: dict[str, np.ndarray], image: tuple[int, int, int], classes: int) -> None:
    """Refuse weights that do not fit images (C, H, W) and `classes`, with a one-line fix."""
    channels = cnn_channels(weights)
    if channels[0] != image[0]:
        raise InputError(f"conv.0.w takes {channels[0]} input channels but the images have {image[0]}; "
                         f"use weights made for these images")
    depth = len(channels) - 1
    need = {f"bn.{i}.{k}": (c,) for i, c in enumerate(channels[1:]) for k in ("scale", "bias", "mean", "var")}
    need |= {"fc.w": (cnn_features(channels, *image[1:]), classes), "fc.b": (classes,)}
    for key, shape in need.items():
        if key not in weights:
            raise InputError(f"the weights have no {key!r}; a cnn of {depth} blocks needs conv.i.w, bn.i.scale, "
                             f"bn.i.bias, bn.i.mean, bn.i.var, fc.w and fc.b")
        if weights[key].shape != shape:
            raise InputError(f"{key} has shape {weights[key].shape} but {image[1]}x{image[2]} images and {classes} "
                             f"classes need {shape}; use weights made for this data")
    extra = sorted(set(weights) - set(need) - {f"conv.{i}.w" for i in range(depth)} - {"dropout.seed"})
    if extra:
        raise InputError(f"the weights have {extra[0]!r}, which this cnn does not use; use weights made for it")
    bad = [k for k, v in weights.items() if not np.all(np.isfinite(v))]
    if bad:
        raise InputError(f"the weights {bad[0]!r} hold NaN or infinity; use finite initial weights")


def mlp_sizes(weights: dict[str, np.ndarray]) -> list[int]:
    """[Din, H1, ..., C] read back from `layers.i.w`; the inverse of `mlp`'s layout."""
    count = sum(1 for k in weights if k.startswith("layers.") and k.endswith(".w"))
    if count == 0 or any(f"layers.{i}.w" not in weights for i in range(count)):
        raise InputError(f"not MLP weights: expected layers.0.w, layers.1.w, ..., got {sorted(weights)}")
    shapes = [weights[f"layers.{i}.w"].shape for i in range(count)]
    if any(a[1] != b[0] for a, b in zip(shapes, shapes[1:])):
        raise InputError(f"MLP layer shapes do not chain: {shapes}")
    return [shapes[0][0], *(s[1] for s in shapes)]
