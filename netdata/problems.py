"""Step 2 of the lecture, "load the data": the seeded (x, y) every stage trains on, and the lessons' constants."""

from __future__ import annotations

import numpy as np

# The one home of every lesson constant: both frameworks' programs, the CLIs and the checks read them here.
# The lecture's sizes: 64 samples, 4 input features, 2 outputs.
N, DIN, DOUT = 64, 4, 2
LECTURE_LR = 1e-6
LECTURE_STEPS = 5000
# Each stage's learning rate and initial weights: netdata.stages, the one table of stages.
# Adam's settings: torch.optim.Adam's defaults, which Optax's match; spelled out so both sides say them.
BETAS, EPS = (0.9, 0.999), 1e-8
# The MLP lesson and the MLP equivalence check: two hidden layers put a ReLU between Linears twice.
MLP_HIDDEN, MLP_CLASSES, MLP_STEPS = (16, 16), 3, 500
# The CNN lesson (Conv-BatchNorm-ReLU-MaxPool twice, Dropout, Linear): output channels of each conv, its square
# kernel (padding K // 2 keeps H and W), the 2x2 max-pool, the share of features Dropout zeroes, the lesson's
# steps on digits and their minibatch. BatchNorm: PyTorch's momentum (new = (1 - m) * old + m * batch; Flax's
# momentum is 1 - m) and eps, the same in both frameworks.
CNN_CHANNELS, CNN_KERNEL, CNN_POOL, CNN_DROPOUT, CNN_STEPS, CNN_BATCH = (16, 32), 3, 2, 0.25, 200, 64
BN_MOMENTUM, BN_EPS = 0.1, 1e-5

# Independent streams per purpose, so asking for weights never shifts the data (and vice versa).
DATA_STREAM, WEIGHT_STREAM, ORDER_STREAM, TRUTH_STREAM = 0, 1, 2, 3
DROPOUT_STREAM = 7  # netdata.dropout's masks, keyed (seed, 7, step); datasets' split is stream 4


def rng(seed: int, stream: int, *more: int) -> np.random.Generator:
    """The one seeded generator family of the project: (seed, purpose, ...) -> Generator."""
    return np.random.default_rng([seed, stream, *more])


def lecture(seed: int = 0, n: int = N, din: int = DIN, dout: int = DOUT,
            dtype=np.float32) -> tuple[np.ndarray, np.ndarray]:
    """The lecture's data: x and y both standard normal, so there is nothing to learn but the mean."""
    g = rng(seed, DATA_STREAM)
    x = g.standard_normal((n, din))  # (N, Din)
    y = g.standard_normal((n, dout))  # (N, Dout)
    return x.astype(dtype), y.astype(dtype)


def linear(seed: int = 0, n: int = N, din: int = DIN, dout: int = DOUT, noise: float = 0.1,
           dtype=np.float32) -> tuple[np.ndarray, np.ndarray]:
    """A learnable variant: y = x @ w_true + b_true + noise, so training has a target to find."""
    x, _ = lecture(seed, n, din, dout, np.float64)
    g = rng(seed, TRUTH_STREAM)
    w_true = g.standard_normal((din, dout))  # (Din, Dout)
    b_true = g.standard_normal(dout)  # (Dout,)
    y = x @ w_true + b_true + noise * g.standard_normal((n, dout))
    return x.astype(dtype), y.astype(dtype)


def classification(seed: int = 0, n: int = N, din: int = DIN, classes: int = 3,
                   dtype=np.float32) -> tuple[np.ndarray, np.ndarray]:
    """The lecture's x with integer labels (N,) in 0..C-1: argmax of a random linear map, so separable."""
    x, _ = lecture(seed, n, din, 1, np.float64)  # x is drawn first, so it is the lecture's x for any dout
    g = rng(seed, TRUTH_STREAM)
    scores = x @ g.standard_normal((din, classes)) + g.standard_normal(classes)  # (N, C)
    return x.astype(dtype), np.argmax(scores, axis=1).astype(np.int64)
