"""Lecture program 8: a CNN, (Conv-BatchNorm-ReLU-MaxPool) x2, Dropout, Linear, learns its own features.

Flax convolves NHWC images with HWIO kernels. The canonical weights keep Flax's kernel layout and its
(H, W, C) flatten order; images come in NCHW (PyTorch's and the files' layout), so this file's one
boundary is a transpose of the input in `__call__`.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

from jaxnet import device
from jaxnet.device import array, numpy
from jaxnet.loop import scan_steps
from jaxnet.mlp import adamw
from jaxnet.state import export_adam_at, load_adam_at
from netdata import batches, datasets, dropout, init, problems
from netdata.stages import STAGES


def _batch_norm_train(bn: nnx.BatchNorm, z: jax.Array) -> jax.Array:
    """nnx.BatchNorm with batch statistics, keeping PyTorch's running variance: the unbiased batch variance.

    Flax's update is momentum * old + (1 - momentum) * batch with the biased variance; PyTorch's running_var
    takes the unbiased one (it normalizes with the biased one, as Flax does). The mean's update is the same
    in both (Flax's momentum = 1 - PyTorch's); the variance is overwritten here with PyTorch's number.
    """
    old = bn.var[...]
    y = bn(z, use_running_average=False)
    unbiased = jax.lax.stop_gradient(jnp.var(z, axis=(0, 1, 2), ddof=1))
    bn.var[...] = bn.momentum * old + (1 - bn.momentum) * unbiased
    return y


def _patches_conv(lhs: jax.Array, rhs: jax.Array, window_strides, padding, lhs_dilation=None, rhs_dilation=None,
                  dimension_numbers=None, feature_group_count: int = 1, precision=None, **_) -> jax.Array:
    """nnx.Conv's convolution as patches @ kernel (the oracle's way): NHWC input, HWIO kernel, stride 1.

    Measured on CPU: XLA runs a convolution's gradient inside a lax.scan ~50x slower than unrolled (321 vs
    5.6 ms a step for the second conv at batch 64), and this matmul form in the scan at 6.4 ms.
    """
    if tuple(window_strides) != (1, 1) or feature_group_count != 1 or any(
            d not in (None, (1, 1)) for d in (lhs_dilation and tuple(lhs_dilation), rhs_dilation and tuple(rhs_dilation))):
        raise ValueError("_patches_conv does stride 1, no dilation, no groups")
    (top, bottom), (left, right) = padding
    x = jnp.pad(lhs, ((0, 0), (top, bottom), (left, right), (0, 0)))
    kh, kw, cin, cout = rhs.shape
    h, w = x.shape[1] - kh + 1, x.shape[2] - kw + 1
    cols = jnp.concatenate([x[:, i:i + h, j:j + w] for i in range(kh) for j in range(kw)], axis=-1)  # (N, h, w, kh*kw*Cin)
    return jnp.matmul(cols, rhs.reshape(kh * kw * cin, cout), precision=precision)


# 1. Define the model: each block Conv (no bias: BatchNorm's own cancels it) -> BatchNorm -> ReLU -> 2x2 max-pool.
class CNN(nnx.Module):
    def __init__(self, channels: list[int], features: int, classes: int, kernel: int, dtype, rngs: nnx.Rngs):
        zeros = nnx.initializers.zeros_init()  # build() loads the real start
        pairs = list(zip(channels[:-1], channels[1:]))
        self.convs = nnx.List(nnx.Conv(a, b, (kernel, kernel), padding=kernel // 2, use_bias=False, dtype=dtype,
                                       param_dtype=dtype, kernel_init=zeros, conv_general_dilated=_patches_conv,
                                       rngs=rngs) for a, b in pairs)
        # use_fast_variance=False: E[(x - mean)^2] as PyTorch computes it, not E[x^2] - mean^2, which cancels.
        self.bns = nnx.List(nnx.BatchNorm(b, momentum=1 - problems.BN_MOMENTUM, epsilon=problems.BN_EPS,
                                          use_fast_variance=False, dtype=dtype, param_dtype=dtype, rngs=rngs)
                            for _, b in pairs)
        self.fc = nnx.Linear(features, classes, dtype=dtype, param_dtype=dtype, kernel_init=zeros, rngs=rngs)

    def __call__(self, x: jax.Array, train: bool = False, mask: jax.Array | None = None) -> jax.Array:
        x = jnp.transpose(x, (0, 2, 3, 1))  # (N, C, H, W) -> (N, H, W, C): the one layout boundary
        pool = (problems.CNN_POOL, problems.CNN_POOL)
        for conv, bn in zip(self.convs, self.bns):
            z = conv(x)
            z = _batch_norm_train(bn, z) if train else bn(z, use_running_average=True)
            x = nnx.max_pool(nnx.relu(z), pool, strides=pool)
        x = x.reshape(x.shape[0], -1)  # (N, H*W*C): the canonical flatten order
        if mask is not None:  # Dropout with netdata's mask of this step (0 or 1/(1-p)), not a JAX key's draw
            x = x * mask
        return self.fc(x)  # (N, classes) logits


class Trainer(NamedTuple):
    model: CNN
    optimizer: nnx.Optimizer
    seed: int  # of the dropout masks' stream


def _params(model: CNN) -> dict[str, tuple]:
    """Learned parameters by canonical name, each with its path in the model's state (kernels already HWIO)."""
    out = {}
    for i in range(len(model.convs)):
        out |= {f"conv.{i}.w": ("convs", i, "kernel"), f"bn.{i}.scale": ("bns", i, "scale"),
                f"bn.{i}.bias": ("bns", i, "bias")}
    return out | {"fc.w": ("fc", "kernel"), "fc.b": ("fc", "bias")}


def _stats(model: CNN) -> dict[str, nnx.Variable]:
    return {f"bn.{i}.{k}": getattr(bn, k) for i, bn in enumerate(model.bns) for k in ("mean", "var")}


def _at(model: CNN, path: tuple) -> nnx.Variable:
    for key in path:
        model = model[key] if isinstance(key, int) else getattr(model, key)
    return model


def build(weights: dict[str, np.ndarray], lr: float, device=None, weight_decay: float = 0.0) -> Trainer:
    """Sizes come from `conv.i.w` and `fc.w`; `weights` may also hold Adam state to resume from."""
    channels, (features, classes) = init.cnn_channels(weights), weights["fc.w"].shape
    model = CNN(channels, features, classes, weights["conv.0.w"].shape[0], weights["conv.0.w"].dtype, rngs=nnx.Rngs(0))
    for name, path in _params(model).items():
        _at(model, path)[...] = array(weights[name])
    for i, bn in enumerate(model.bns):  # new variables: Flax makes them float32 whatever the dtype
        bn.mean, bn.var = (nnx.BatchStat(array(weights[f"bn.{i}.{k}"])) for k in ("mean", "var"))
    optimizer = adamw(model, lr, weight_decay)  # AdamW: with weight_decay 0 exactly Adam
    load_adam_at(optimizer, weights, _params(model))
    return Trainer(model, optimizer, int(weights.get("dropout.seed", 0)))


@nnx.jit
def _predict(model: CNN, x: jax.Array) -> jax.Array:
    return model(x)


def predict(trainer: Trainer, x: jax.Array) -> jax.Array:
    return _predict(trainer.model, x)  # (N, C) logits; BatchNorm normalizes with its running statistics


def cross_entropy(model: CNN, x: jax.Array, labels: jax.Array, mask: jax.Array | None = None) -> jax.Array:
    # Training mode whenever a mask is given: batch statistics. Evaluation (mask None) uses the running ones.
    return optax.softmax_cross_entropy_with_integer_labels(model(x, mask is not None, mask), labels).mean()


def _train_mode_loss(model: CNN, x: jax.Array, labels: jax.Array) -> jax.Array:
    return optax.softmax_cross_entropy_with_integer_labels(model(x, True), labels).mean()


# Compiled once per shape: run eagerly, their dozens of small ops would each compile.
_value_and_grad = nnx.jit(nnx.value_and_grad(_train_mode_loss))
_cross_entropy = nnx.jit(cross_entropy)


def loss_of(trainer: Trainer, x: jax.Array, labels: jax.Array) -> jax.Array:
    """The loss alone, in evaluation mode: running statistics, no dropout, no gradient."""
    return _cross_entropy(trainer.model, x, labels)


def loss_and_grads(trainer: Trainer, x: jax.Array, labels: jax.Array):
    """The weights' gradient in training mode (batch statistics), without dropout, measured on a copy:
    a training-mode forward moves BatchNorm's running statistics, and measuring must not."""
    model = nnx.clone(trainer.model)
    loss, grads = _value_and_grad(model, x, labels)
    return loss, {k: _at_state(grads, path)[...] for k, path in _params(model).items()}


def _at_state(state: nnx.State, path: tuple):
    for key in path:
        state = state[key]
    return state


def masks(trainer: Trainer, steps: int, batch: int, dtype: jnp.dtype) -> jax.Array:
    """(steps, batch, features) dropout masks for the next `steps` steps, from netdata's shared stream.

    The steps taken so far (which key the masks) may be a traced value inside a compiled chunk, so NumPy
    draws the masks in a host callback: once per chunk, the same arrays PyTorch's twin draws.
    """
    shape = (batch, trainer.model.fc.kernel.shape[0])
    # The seed too is an argument: inside a compiled chunk the trainer's seed is one of the traced leaves.
    return jax.pure_callback(_draw(steps, shape, np.dtype(dtype)), jax.ShapeDtypeStruct((steps, *shape), dtype),
                             trainer.seed, trainer.optimizer.step[...])


@functools.lru_cache
def _draw(steps: int, shape: tuple[int, int], dtype: np.dtype):
    """One callback per shape: the callback is part of the program, so a new one each call would recompile."""

    def draw(seed: np.ndarray, start: np.ndarray) -> np.ndarray:
        return dropout.masks(int(seed), int(start), steps, shape, problems.CNN_DROPOUT, np.float64).astype(dtype)

    return draw


# 3. Train: the same calls as every stage since optim; the mask switches BatchNorm to batch statistics.
def train_step(trainer: Trainer, x: jax.Array, labels: jax.Array, mask: jax.Array) -> tuple[Trainer, jax.Array]:
    # The running statistics change inside value_and_grad; NNX carries the change back to the model.
    loss, grads = nnx.value_and_grad(cross_entropy)(trainer.model, x, labels, mask)
    trainer.optimizer.update(trainer.model, grads)
    return trainer, loss


def _scan_step(trainer: Trainer, x: jax.Array, labels_and_mask: tuple) -> tuple[Trainer, jax.Array]:
    return train_step(trainer, x, *labels_and_mask)


def train(trainer: Trainer, xs: jax.Array, ys: jax.Array) -> tuple[Trainer, jax.Array]:
    """One step per leading index of xs (K, B, C, H, W) and labels ys (K, B), in one compiled scan."""
    drop = masks(trainer, xs.shape[0], xs.shape[1], xs.dtype)
    return scan_steps(_scan_step, trainer, xs, (ys, drop))


def export(trainer: Trainer) -> dict[str, np.ndarray]:
    model = trainer.model
    out = {k: numpy(_at(model, path)[...]) for k, path in _params(model).items()}
    out |= {k: numpy(v[...]) for k, v in _stats(model).items()}
    return out | export_adam_at(trainer.optimizer, _params(model)) | {"dropout.seed": np.asarray(trainer.seed, np.int64)}


def main() -> None:
    # float64: in float32 the twins' convolutions round differently and 100 steps part them in the 4th digit.
    with device.context(dtype="float64"):  # x64 for this program only, restored after
        digits = datasets.digits()  # 2. load the data: 1797 images of 8x8 pixels valued 0..16, NCHW
        x, labels = digits.x.reshape(-1, 1, 8, 8) / 16.0, np.asarray(digits.labels)
        (x_train, x_test), (y_train, y_test) = np.array_split(x, 2), np.array_split(labels, 2)  # never trained on the second half
        channels = [1, *problems.CNN_CHANNELS]
        weights = init.cnn(STAGES["cnn"].init, channels, 2 * 2 * channels[-1], len(digits.class_names),
                           dtype=np.float64)
        trainer = build(weights, STAGES["cnn"].lr)
        steps = problems.CNN_STEPS
        order = batches.indices(0, len(y_train), problems.CNN_BATCH, 0, steps)  # (steps, B): netdata's order
        xs, ys = jnp.asarray(x_train[order]), jnp.asarray(y_train[order])  # minibatches: 14x less work than 899 images
        trainer, losses = train(trainer, xs, ys)
        print(f"loss {float(losses[0]):.4f} -> {float(losses[-1]):.4f} after {steps} steps")
        # 4. test on held-out images: the predicted class is the largest logit
        accuracy = float(jnp.mean(jnp.argmax(predict(trainer, x_test), axis=1) == y_test))
        print(f"test accuracy {accuracy:.3f} on {len(y_test)} held-out samples")


if __name__ == "__main__":
    main()
