"""Qwen3 causal LM (RMSNorm, RoPE, grouped-query attention) and an NNX port with einsum heads, with four bugs."""

from __future__ import annotations

import functools

import jax.numpy as jnp
import numpy as np
import torch
import torch.nn as nn
import transformers
from flax import nnx
from transformers.models.qwen3 import modeling_qwen3 as hf

from . import float64, parts
from .cases import Bug, Case

CONFIG = dict(vocab_size=64, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
              num_key_value_heads=2, head_dim=8, max_position_embeddings=16, rope_theta=1_000_000.0,
              rms_norm_eps=1e-6, attention_dropout=0.0, tie_word_embeddings=False)


class Attention(nnx.Module):
    def __init__(self, c, bug: str | None, rngs: nnx.Rngs):
        heads, kv, d = c.num_attention_heads, c.num_key_value_heads, c.head_dim
        self.q = nnx.LinearGeneral(c.hidden_size, (heads, d), use_bias=False, rngs=rngs)
        self.k = nnx.LinearGeneral(c.hidden_size, (kv, d), use_bias=False, rngs=rngs)
        self.v = nnx.LinearGeneral(c.hidden_size, (kv, d), use_bias=False, rngs=rngs)
        self.o = nnx.LinearGeneral((heads, d), c.hidden_size, axis=(-2, -1), use_bias=False, rngs=rngs)
        self.q_norm = parts.RMSNorm(d, eps=c.rms_norm_eps, rngs=rngs)
        self.k_norm = parts.RMSNorm(d, eps=c.rms_norm_eps, rngs=rngs)
        self.groups, self.bug = heads // kv, bug
        # the bug: a RoPE base copied from Llama-2 instead of read from the config
        self.theta = 10_000.0 if bug == "rope_theta" else c.rope_parameters["rope_theta"]

    def __call__(self, h):
        q, k, v = self.q_norm(self.q(h)), self.k_norm(self.k(h)), self.v(h)
        cos, sin = parts.rope(h.shape[1], q.shape[-1], self.theta, h.dtype)
        q, k = parts.rotate(q, cos, sin), parts.rotate(k, cos, sin)
        # HF's repeat_kv gives query head i the key/value head i // groups; tiling gives i % groups' partner
        repeat = functools.partial(jnp.tile, reps=(1, 1, self.groups, 1)) if self.bug == "gqa_repeat_order" else \
            functools.partial(jnp.repeat, repeats=self.groups, axis=2)
        return self.o(parts.attend(q, repeat(k), repeat(v), mask=parts.causal(h.shape[1])))


class MLP(nnx.Module):
    def __init__(self, c, rngs: nnx.Rngs):
        self.gate = nnx.Linear(c.hidden_size, c.intermediate_size, use_bias=False, rngs=rngs)
        self.up = nnx.Linear(c.hidden_size, c.intermediate_size, use_bias=False, rngs=rngs)
        self.down = nnx.Linear(c.intermediate_size, c.hidden_size, use_bias=False, rngs=rngs)

    def __call__(self, h):
        return self.down(nnx.silu(self.gate(h)) * self.up(h))


class Block(nnx.Module):
    def __init__(self, c, bug: str | None, rngs: nnx.Rngs):
        eps = 1e-5 if bug == "rmsnorm_epsilon" else c.rms_norm_eps  # the bug: Llama-2's epsilon, not the config's
        self.norm1 = parts.RMSNorm(c.hidden_size, eps=eps, rngs=rngs)
        self.attn = Attention(c, bug, rngs)
        self.norm2 = parts.RMSNorm(c.hidden_size, eps=eps, rngs=rngs)
        self.ffn = MLP(c, rngs)
        self.bug = bug

    def __call__(self, x):
        h = self.norm1(x)
        x = (h if self.bug == "residual_after_norm" else x) + self.attn(h)  # the bug: the normed stream as residual
        return x + self.ffn(self.norm2(x))


class Qwen3(nnx.Module):
    def __init__(self, c, *, bug: str | None = None, rngs: nnx.Rngs):
        self.embed = nnx.Embed(c.vocab_size, c.hidden_size, rngs=rngs)
        self.blocks = nnx.List([Block(c, bug, rngs) for _ in range(c.num_hidden_layers)])
        self.norm = parts.RMSNorm(c.hidden_size, eps=c.rms_norm_eps, rngs=rngs)
        self.head = nnx.Linear(c.hidden_size, c.vocab_size, use_bias=False, rngs=rngs)

    def __call__(self, ids):
        h = self.embed(ids)
        for block in self.blocks:
            h = block(h)
        return self.head(self.norm(h))


def rms_norm_rule():
    from equivalence import port
    return port.Rule("Qwen3RMSNorm", (hf.Qwen3RMSNorm,), (parts.RMSNorm,),
                     lambda m, t: {"scale": t["weight"]}, lambda m, a: {"weight": a["scale"]})


NAMES = {"model.embed_tokens": "embed", "model.layers.*.self_attn": "blocks.*.attn",
         "model.layers.*.mlp": "blocks.*.ffn", "model.layers.*.input_layernorm": "blocks.*.norm1",
         "model.layers.*.post_attention_layernorm": "blocks.*.norm2",
         "model.norm": "norm", "lm_head": "head"}
COPY = {"model.embed_tokens": "embed", "model.norm": "norm", "lm_head": "head",
        **{f"model.layers.*.{a}": f"blocks.*.{b}" for a, b in (
            ("self_attn.q_proj", "attn.q"), ("self_attn.k_proj", "attn.k"), ("self_attn.v_proj", "attn.v"),
            ("self_attn.o_proj", "attn.o"), ("self_attn.q_norm", "attn.q_norm"), ("self_attn.k_norm", "attn.k_norm"),
            ("mlp.gate_proj", "ffn.gate"), ("mlp.up_proj", "ffn.up"), ("mlp.down_proj", "ffn.down"),
            ("input_layernorm", "norm1"), ("post_attention_layernorm", "norm2"))}}

BUGS = (
    Bug("rope_theta", "RoPE base 10000 hard-coded; the config says 1e6", ("model.layers.*.self_attn*",)),
    Bug("gqa_repeat_order", "key/value heads tiled (0,1,0,1) instead of repeated (0,0,1,1)",
        ("model.layers.*.self_attn*",)),
    Bug("residual_after_norm", "the residual taken after input_layernorm instead of before it",
        ("between model.layers.*.self_attn* and model.layers.*.post_attention_layernorm",
         "model.layers.*.post_attention_layernorm")),
    # inside a norm that HF computes in float32: the precision it explains must not hide this
    Bug("rmsnorm_epsilon", "decoder-layer RMSNorm epsilon 1e-5 (Llama-2's) where the config says 1e-6",
        ("model.layers.*.input_layernorm", "model.layers.*.post_attention_layernorm")),
)


def case() -> Case:
    torch.manual_seed(0)
    # sdpa, not eager: eager's softmax runs in float32 (dtype=torch.float32) even on float64 inputs
    config = transformers.Qwen3Config(**CONFIG, attn_implementation="sdpa")
    model = transformers.Qwen3ForCausalLM(config).eval()
    rng = np.random.default_rng(0)
    return Case("qwen3", model, lambda bug=None: Qwen3(config, bug=bug, rngs=nnx.Rngs(0)),
                x=rng.integers(0, CONFIG["vocab_size"], (2, 8)),
                target=rng.standard_normal((2, 8, CONFIG["vocab_size"])),
                loss=nn.MSELoss(), names=NAMES, rules=(rms_norm_rule,), bugs=BUGS, copy=COPY,
                float64=lambda: float64.internals(hf.Qwen3RMSNorm, hf.Qwen3RotaryEmbedding))
