"""Held out: Mistral causal LM and a Meta-style NNX port (nnx.Einsum heads, nnx.RMSNorm, w1/w2/w3), one bug."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import torch
import torch.nn as nn
import transformers
from flax import nnx
from transformers.models.mistral import modeling_mistral as hf

from .. import float64, parts
from ..cases import Bug, Case

CONFIG = dict(vocab_size=64, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
              num_key_value_heads=2, head_dim=8, max_position_embeddings=16, rope_theta=10_000.0, rms_norm_eps=1e-6,
              sliding_window=None, attention_dropout=0.0, tie_word_embeddings=False)


def rotate_pairs(x, cos, sin):
    """Meta's original RoPE: rotates interleaved pairs (x0, x1), (x2, x3)... HF's checkpoints are permuted for
    rotate_half, so this layout is wrong for them."""
    half = x.shape[-1] // 2
    c, s = cos[:, None, :half].astype(x.dtype), sin[:, None, :half].astype(x.dtype)
    x1, x2 = x[..., 0::2], x[..., 1::2]
    return jnp.stack([x1 * c - x2 * s, x1 * s + x2 * c], axis=-1).reshape(x.shape)


class Attention(nnx.Module):
    def __init__(self, c, bug: str | None, rngs: nnx.Rngs):
        d, h, kv, e = c.head_dim, c.num_attention_heads, c.num_key_value_heads, c.hidden_size
        self.wq = nnx.Einsum("bld,dhk->blhk", (e, h, d), rngs=rngs)
        self.wk = nnx.Einsum("bld,dhk->blhk", (e, kv, d), rngs=rngs)
        self.wv = nnx.Einsum("bld,dhk->blhk", (e, kv, d), rngs=rngs)
        self.wo = nnx.Einsum("blhk,hkd->bld", (h, d, e), rngs=rngs)
        self.theta, self.groups = c.rope_parameters["rope_theta"], h // kv
        self.rotate = rotate_pairs if bug == "rope_interleaved" else parts.rotate

    def __call__(self, x):
        q, k, v = self.wq(x), self.wk(x), self.wv(x)
        cos, sin = parts.rope(x.shape[1], q.shape[-1], self.theta, x.dtype)
        q, k = self.rotate(q, cos, sin), self.rotate(k, cos, sin)
        k, v = jnp.repeat(k, self.groups, axis=2), jnp.repeat(v, self.groups, axis=2)
        return self.wo(parts.attend(q, k, v, mask=parts.causal(x.shape[1])))


class FeedForward(nnx.Module):
    def __init__(self, c, rngs: nnx.Rngs):
        self.w1 = nnx.Linear(c.hidden_size, c.intermediate_size, use_bias=False, rngs=rngs)
        self.w3 = nnx.Linear(c.hidden_size, c.intermediate_size, use_bias=False, rngs=rngs)
        self.w2 = nnx.Linear(c.intermediate_size, c.hidden_size, use_bias=False, rngs=rngs)

    def __call__(self, x):
        return self.w2(nnx.silu(self.w1(x)) * self.w3(x))


class Layer(nnx.Module):
    def __init__(self, c, bug: str | None, rngs: nnx.Rngs):
        self.attention_norm = nnx.RMSNorm(c.hidden_size, epsilon=c.rms_norm_eps, rngs=rngs)
        self.attention = Attention(c, bug, rngs)
        self.ffn_norm = nnx.RMSNorm(c.hidden_size, epsilon=c.rms_norm_eps, rngs=rngs)
        self.feed_forward = FeedForward(c, rngs)

    def __call__(self, x):
        x = x + self.attention(self.attention_norm(x))
        return x + self.feed_forward(self.ffn_norm(x))


class Transformer(nnx.Module):
    def __init__(self, c, *, bug: str | None = None, rngs: nnx.Rngs):
        self.tok_embeddings = nnx.Embed(c.vocab_size, c.hidden_size, rngs=rngs)
        self.layers = nnx.List([Layer(c, bug, rngs) for _ in range(c.num_hidden_layers)])
        self.norm = nnx.RMSNorm(c.hidden_size, epsilon=c.rms_norm_eps, rngs=rngs)
        self.output = nnx.Linear(c.hidden_size, c.vocab_size, use_bias=False, rngs=rngs)

    def __call__(self, tokens):
        h = self.tok_embeddings(tokens)
        for layer in self.layers:
            h = layer(h)
        return self.output(self.norm(h))


# q/o, k/v and gate/up have the same shapes: the engine refuses to guess between them, so each is named
NAMES = {"model.embed_tokens": "tok_embeddings", "model.norm": "norm", "lm_head": "output",
         **{f"model.layers.*.{a}": f"layers.*.{b}" for a, b in (
             ("self_attn.q_proj", "attention.wq"), ("self_attn.k_proj", "attention.wk"),
             ("self_attn.v_proj", "attention.wv"), ("self_attn.o_proj", "attention.wo"),
             ("mlp.gate_proj", "feed_forward.w1"), ("mlp.up_proj", "feed_forward.w3"),
             ("mlp.down_proj", "feed_forward.w2"), ("input_layernorm", "attention_norm"),
             ("post_attention_layernorm", "ffn_norm"))}}
COPY = dict(NAMES)

BUGS = (Bug("rope_interleaved", "Meta's interleaved-pair RoPE on HF's rotate_half checkpoints",
            ("model.layers.*.self_attn*",)),)


def case() -> Case:
    torch.manual_seed(0)
    # sdpa, not eager: eager's softmax runs in float32 (dtype=torch.float32) even on float64 inputs
    config = transformers.MistralConfig(**CONFIG, attn_implementation="sdpa")
    model = transformers.MistralForCausalLM(config).eval()
    rng = np.random.default_rng(1)
    return Case("mistral", model, lambda bug=None: Transformer(config, bug=bug, rngs=nnx.Rngs(0)),
                x=rng.integers(0, CONFIG["vocab_size"], (2, 8)),
                target=rng.standard_normal((2, 8, CONFIG["vocab_size"])),
                loss=nn.MSELoss(), names=NAMES, bugs=BUGS, copy=COPY,
                float64=lambda: float64.internals(hf.MistralRMSNorm, hf.MistralRotaryEmbedding))
