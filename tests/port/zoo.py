"""Twin models for the port check: torch modules and their Flax NNX ports, with switches that plant known mistakes."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import torch
import torch.nn as nn
from flax import nnx

# The twins' own initial values never matter (copy_weights overwrites every one); zeros compile in
# a fraction of the time random initialisers take, which keeps the tests fast.
Z = {"kernel_init": nnx.initializers.zeros_init()}


# --- MLP: Linear, LayerNorm, exact GELU -------------------------------------------------------------

class TorchMLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1, self.ln, self.act, self.fc2 = nn.Linear(6, 8), nn.LayerNorm(8), nn.GELU(), nn.Linear(8, 3)

    def forward(self, x):
        return self.fc2(self.act(self.ln(self.fc1(x))))


class NnxMLP(nnx.Module):
    def __init__(self, *, epsilon=1e-5, approximate=False, rngs=None):
        rngs = rngs or nnx.Rngs(0)
        self.fc1, self.fc2 = nnx.Linear(6, 8, **Z, rngs=rngs), nnx.Linear(8, 3, **Z, rngs=rngs)
        self.ln = nnx.LayerNorm(8, epsilon=epsilon, rngs=rngs)
        self.act = functools.partial(jax.nn.gelu, approximate=approximate)

    def __call__(self, x):
        return self.fc2(self.act(self.ln(self.fc1(x))))


# --- CNN: Conv2d, BatchNorm2d, max-pool, strided conv, GroupNorm, flatten, Linear ---------------------

class TorchCNN(nn.Module):
    """Input (N, 3, 8, 8)."""

    def __init__(self):
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4)
        self.pool = nn.MaxPool2d(2)
        self.conv2, self.gn2 = nn.Conv2d(4, 6, 3, stride=2, padding=1), nn.GroupNorm(2, 6)
        self.fc = nn.Linear(6 * 2 * 2, 3)

    def forward(self, x):
        h = self.pool(torch.relu(self.bn1(self.conv1(x))))
        h = torch.relu(self.gn2(self.conv2(h)))
        return self.fc(h.flatten(1))


class TorchBatchNorm(nnx.BatchNorm):
    """nnx.BatchNorm whose running variance takes torch's unbiased batch variance (n / (n - 1))."""

    def __call__(self, x, use_running_average=None, *, mask=None):
        if (self.use_running_average if use_running_average is None else use_running_average):
            return super().__call__(x, use_running_average=True)
        old = self.var[...]
        y = super().__call__(x, use_running_average=False)
        n = x.size // x.shape[-1]
        batch_var = jnp.var(x, axis=tuple(range(x.ndim - 1)))
        self.var[...] = self.momentum * old + (1 - self.momentum) * batch_var * (n / (n - 1))
        return y


class NnxCNN(nnx.Module):
    """Input (N, 8, 8, 3): NHWC; flattens in torch's NCHW order."""

    def __init__(self, *, momentum=0.9, unbiased=True, padding=1, pool_strides=(2, 2), flatten_nchw=True,
                 gn_epsilon=1e-5, num_groups=2, rngs=None):
        rngs = rngs or nnx.Rngs(0)
        bn = TorchBatchNorm if unbiased else nnx.BatchNorm
        self.conv1 = nnx.Conv(3, 4, (3, 3), padding=1, **Z, rngs=rngs)
        self.bn1 = bn(4, momentum=momentum, epsilon=1e-5, rngs=rngs)
        self.pool = functools.partial(nnx.max_pool, window_shape=(2, 2), strides=pool_strides)
        self.conv2 = nnx.Conv(4, 6, (3, 3), strides=2, padding=padding, **Z, rngs=rngs)
        self.gn2 = nnx.GroupNorm(6, num_groups=num_groups, epsilon=gn_epsilon, rngs=rngs)
        self.fc = nnx.Linear(6 * 2 * 2, 3, **Z, rngs=rngs)
        self.flatten_nchw = flatten_nchw

    def __call__(self, x):
        h = self.pool(nnx.relu(self.bn1(self.conv1(x))))
        h = nnx.relu(self.gn2(self.conv2(h)))
        if self.flatten_nchw:
            h = h.transpose(0, 3, 1, 2)  # torch flattens channels first
        return self.fc(h.reshape(h.shape[0], -1))


# --- Transformer encoder block: Embedding, MultiheadAttention, LayerNorm, GELU, residuals ---------------

class TorchBlock(nn.Module):
    """Input: token ids (N, L) in [0, 11); 0 is padding."""

    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(11, 8, padding_idx=0)
        self.attn = nn.MultiheadAttention(8, 2, batch_first=True)
        self.ln1, self.ln2 = nn.LayerNorm(8), nn.LayerNorm(8)
        self.ff1, self.act, self.ff2 = nn.Linear(8, 16), nn.GELU(), nn.Linear(16, 8)
        self.head = nn.Linear(8, 3)

    def forward(self, ids):
        h = self.embed(ids)
        h = self.ln1(h + self.attn(h, h, h, need_weights=False)[0])
        h = self.ln2(h + self.ff2(self.act(self.ff1(h))))
        return self.head(h.mean(1))


def attention_in_input_dtype(query, key, value, bias=None, mask=None, **_):
    """Scaled dot-product attention with the softmax in the inputs' dtype (float64 stays float64)."""
    logits = jnp.einsum("...qhd,...khd->...hqk", query / np.sqrt(query.shape[-1]), key)
    if mask is not None:
        logits = jnp.where(mask, logits, jnp.finfo(logits.dtype).min)
    return jnp.einsum("...hqk,...khd->...qhd", jax.nn.softmax(logits, axis=-1), value)


class NnxBlock(nnx.Module):
    def __init__(self, *, exact_attention=True, mask_padding=True, heads=2, rngs=None):
        rngs = rngs or nnx.Rngs(0)
        self.embed = nnx.Embed(11, 8, embedding_init=nnx.initializers.zeros_init(), rngs=rngs)
        fn = attention_in_input_dtype if exact_attention else nnx.dot_product_attention
        self.attn = nnx.MultiHeadAttention(heads, 8, decode=False, attention_fn=fn, **Z, rngs=rngs)
        self.ln1 = nnx.LayerNorm(8, epsilon=1e-5, rngs=rngs)
        self.ln2 = nnx.LayerNorm(8, epsilon=1e-5, rngs=rngs)
        self.ff1, self.ff2 = nnx.Linear(8, 16, **Z, rngs=rngs), nnx.Linear(16, 8, **Z, rngs=rngs)
        self.act = functools.partial(jax.nn.gelu, approximate=False)
        self.head = nnx.Linear(8, 3, **Z, rngs=rngs)
        self.mask_padding = mask_padding

    def __call__(self, ids):
        h = self.embed(ids)
        if self.mask_padding:  # torch's padding_idx row gets no gradient
            h = jnp.where((ids == 0)[..., None], jax.lax.stop_gradient(h), h)
        h = self.ln1(h + self.attn(h))
        h = self.ln2(h + self.ff2(self.act(self.ff1(h))))
        return self.head(h.mean(1))


# --- factories (package.module:function for the CLI) and inputs ----------------------------------------

def torch_mlp():
    torch.manual_seed(0)
    return TorchMLP()


def nnx_mlp():
    return NnxMLP()


def torch_cnn():
    torch.manual_seed(0)
    return TorchCNN()


def nnx_cnn():
    return NnxCNN()


def torch_block():
    torch.manual_seed(0)
    return TorchBlock()


def nnx_block():
    return NnxBlock()


def inputs(model: str, batch: int = 4) -> dict:
    """compare() keyword arguments: x (and jax_x), a target and its loss, for one zoo model."""
    rng = np.random.default_rng(0)
    if model == "mlp":
        return {"x": rng.standard_normal((batch, 6)), "target": rng.standard_normal((batch, 3)), "loss": nn.MSELoss()}
    if model == "cnn":
        x = rng.standard_normal((batch, 3, 8, 8))
        return {"x": x, "jax_x": x.transpose(0, 2, 3, 1), "target": rng.integers(0, 3, batch),
                "loss": nn.CrossEntropyLoss()}
    ids = rng.integers(0, 11, (batch, 5))
    ids[:, -1] = 0  # padding appears
    return {"x": ids, "target": rng.integers(0, 3, batch), "loss": nn.CrossEntropyLoss()}
