"""Pieces the NNX ports share, written as ports write them: attention, RMSNorm and RoPE in at least float32."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
from flax import nnx


def compute_dtype(x: jax.Array) -> jnp.dtype:
    """HF upcasts half precision to float32 for norms, softmax and RoPE; a port upcasts to *at least* float32,
    so float64 stays float64 (the idiom of flax's own normalisation layers)."""
    return jnp.promote_types(x.dtype, jnp.float32)


def attend(query, key, value, bias=None, mask=None, *, scaled: bool = True, **_):
    """Scaled dot-product attention on (batch, length, heads, head_dim), softmax in at least float32.

    The signature of nnx.MultiHeadAttention's ``attention_fn``; ``scaled=False`` is the missing-scale bug.
    """
    if scaled:
        query = query / math.sqrt(query.shape[-1])
    logits = jnp.einsum("...qhd,...khd->...hqk", query, key)
    if bias is not None:
        logits = logits + bias
    if mask is not None:
        logits = jnp.where(mask, logits, jnp.finfo(logits.dtype).min)
    weights = jax.nn.softmax(logits.astype(compute_dtype(logits)), axis=-1).astype(value.dtype)
    return jnp.einsum("...hqk,...khd->...qhd", weights, value)


def causal(length: int) -> jax.Array:
    """A (1, 1, L, L) boolean mask: each position sees itself and the past."""
    return jnp.tril(jnp.ones((length, length), bool))[None, None]


class RMSNorm(nnx.Module):
    """RMSNorm as in Llama/Qwen ports: statistics in at least float32, then scale in the input dtype."""

    def __init__(self, dim: int, *, eps: float, rngs: nnx.Rngs):
        self.scale = nnx.Param(jnp.ones((dim,)))
        self.eps = eps

    def __call__(self, x):
        h = x.astype(compute_dtype(x))
        h = h * jax.lax.rsqrt(jnp.mean(h * h, axis=-1, keepdims=True) + self.eps)
        return self.scale[...] * h.astype(x.dtype)


def rope(length: int, head_dim: int, theta: float, dtype) -> tuple[jax.Array, jax.Array]:
    """cos and sin tables (L, head_dim) of rotary embeddings, halves duplicated as in HF's rotate_half layout."""
    dtype = jnp.promote_types(dtype, jnp.float32)
    inv_freq = 1.0 / (theta ** (jnp.arange(0, head_dim, 2, dtype=dtype) / head_dim))
    freqs = jnp.arange(length, dtype=dtype)[:, None] * inv_freq[None, :]
    emb = jnp.concatenate([freqs, freqs], axis=-1)
    return jnp.cos(emb), jnp.sin(emb)


def rotate(x, cos, sin):
    """Apply RoPE to (batch, length, heads, head_dim) with tables (length, head_dim)."""
    half = x.shape[-1] // 2
    rotated = jnp.concatenate([-x[..., half:], x[..., :half]], axis=-1)
    cos, sin = cos[:, None, :].astype(x.dtype), sin[:, None, :].astype(x.dtype)
    return x * cos + rotated * sin
