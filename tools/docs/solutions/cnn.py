"""Solutions of the cnn stage's exercises: NCHW images into Flax's NHWC convolution, and BatchNorm's momentum."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import torch
from flax import nnx

from netdata import problems


def _images(n: int = 16) -> np.ndarray:
    return problems.rng(0, problems.DATA_STREAM, 8).standard_normal((n, 1, 8, 8)).astype(np.float32)  # NCHW


def conv_layout() -> dict[str, float | str]:
    """torch's Conv2d and Flax's nnx.Conv with the same kernel (OIHW -> HWIO), fed NCHW images as they are and
    transposed to NHWC."""
    x = _images()
    torch.manual_seed(0)
    conv = torch.nn.Conv2d(1, 4, 3, padding=1, bias=False)
    flax = nnx.Conv(1, 4, (3, 3), padding=1, use_bias=False, rngs=nnx.Rngs(0))
    flax.kernel[...] = conv.weight.detach().numpy().transpose(2, 3, 1, 0)  # OIHW -> HWIO
    expected = conv(torch.from_numpy(x)).detach().numpy()  # (N, 4, 8, 8)
    try:
        flax(jnp.asarray(x))  # the bug: NCHW read as NHWC, 8 "channels" where the layer wants 1
        as_is = "no error"
    except Exception as error:  # noqa: BLE001 - its type is the answer
        as_is = type(error).__name__
    with jax.default_matmul_precision("highest"):
        got = np.asarray(flax(jnp.transpose(x, (0, 2, 3, 1)))).transpose(0, 3, 1, 2)  # NHWC in, back to NCHW
    return {"NCHW images as they are": as_is,
            "relative difference after the transpose": float(np.linalg.norm(got - expected) / np.linalg.norm(expected))}


def batchnorm_momentum() -> dict[str, float]:
    """One training-mode pass: the running mean with momentum 0.1 on both sides, then Flax's 0.9 (= 1 - 0.1)."""
    x = _images()
    torch_bn = torch.nn.BatchNorm2d(1, momentum=0.1)
    torch_bn(torch.from_numpy(x))  # training mode: updates running_mean
    expected = torch_bn.running_mean.numpy()
    out = {}
    for momentum in (0.1, 0.9):
        flax_bn = nnx.BatchNorm(1, momentum=momentum, rngs=nnx.Rngs(0))
        flax_bn(jnp.transpose(x, (0, 2, 3, 1)), use_running_average=False)
        out[f"|running mean difference|, Flax momentum {momentum}"] = float(np.abs(np.asarray(flax_bn.mean[...]) - expected).max())
    return out
