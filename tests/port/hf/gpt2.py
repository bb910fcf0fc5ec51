"""GPT-2 LM (fused qkv Conv1D, tied head, tanh GELU) and an NNX port with one fused nnx.Linear, with two bugs.

Conv1D (weight stored (in, out)) needs no user rule: the engine has a built-in one."""

from __future__ import annotations

import jax
import numpy as np
import torch
import torch.nn as nn
import transformers
from flax import nnx

from . import parts
from .cases import Bug, Case

CONFIG = dict(vocab_size=64, n_positions=16, n_embd=32, n_layer=2, n_head=4, resid_pdrop=0.0, embd_pdrop=0.0,
              attn_pdrop=0.0, bos_token_id=0, eos_token_id=0)


class Block(nnx.Module):
    def __init__(self, c, bug: str | None, rngs: nnx.Rngs):
        e = c.n_embd
        self.ln1, self.ln2 = (nnx.LayerNorm(e, epsilon=c.layer_norm_epsilon, rngs=rngs) for _ in range(2))
        self.qkv, self.proj = nnx.Linear(e, 3 * e, rngs=rngs), nnx.Linear(e, e, rngs=rngs)
        self.fc, self.out = nnx.Linear(e, 4 * e, rngs=rngs), nnx.Linear(4 * e, e, rngs=rngs)
        self.heads, self.bug = c.n_head, bug

    def attention(self, x):
        b, n, e = x.shape
        qkv = self.qkv(x)
        # c_attn's 3e outputs are [q | k | v], each head-major; the bug reads them as [head][q, k, v]
        if self.bug == "qkv_split_order":
            q, k, v = qkv.reshape(b, n, self.heads, 3, e // self.heads).transpose(3, 0, 1, 2, 4)
        else:
            q, k, v = qkv.reshape(b, n, 3, self.heads, e // self.heads).transpose(2, 0, 1, 3, 4)
        return self.proj(parts.attend(q, k, v, mask=parts.causal(n)).reshape(b, n, e))

    def __call__(self, x):
        x = x + self.attention(self.ln1(x))
        # GPT-2's "gelu_new" is the tanh approximation; the bug is the exact erf GELU
        return x + self.out(jax.nn.gelu(self.fc(self.ln2(x)), approximate=self.bug != "gelu_exact"))


class GPT2(nnx.Module):
    def __init__(self, c, *, bug: str | None = None, rngs: nnx.Rngs):
        self.tokens = nnx.Embed(c.vocab_size, c.n_embd, rngs=rngs)
        self.positions = nnx.Embed(c.n_positions, c.n_embd, rngs=rngs)
        self.blocks = nnx.List([Block(c, bug, rngs) for _ in range(c.n_layer)])
        self.norm = nnx.LayerNorm(c.n_embd, epsilon=c.layer_norm_epsilon, rngs=rngs)

    def __call__(self, ids):
        x = self.tokens(ids) + self.positions.embedding[...][: ids.shape[1]]
        for block in self.blocks:
            x = block(x)
        return self.tokens.attend(self.norm(x))  # the head is tied to the token table


NAMES = {"transformer.wte": "tokens", "transformer.wpe": "positions", "transformer.h.*.ln_1": "blocks.*.ln1",
         "transformer.h.*.attn.c_attn": "blocks.*.qkv", "transformer.h.*.attn.c_proj": "blocks.*.proj",
         "transformer.h.*.ln_2": "blocks.*.ln2", "transformer.h.*.mlp.c_fc": "blocks.*.fc",
         "transformer.h.*.mlp.c_proj": "blocks.*.out", "transformer.ln_f": "norm"}
COPY = dict(NAMES)
CONV1D = ("transformer.h.*.attn.c_attn", "transformer.h.*.attn.c_proj", "transformer.h.*.mlp.c_fc",
          "transformer.h.*.mlp.c_proj")

BUGS = (
    Bug("qkv_split_order", "fused qkv split per head ([head][q, k, v]) where c_attn is [q | k | v]",
        ("transformer.h.*.attn*",)),
    Bug("gelu_exact", "exact erf GELU where GPT-2's gelu_new is the tanh approximation",
        ("transformer.h.*.mlp*", "between transformer.h.*.mlp*")),
)


def case() -> Case:
    torch.manual_seed(0)
    config = transformers.GPT2Config(**CONFIG, attn_implementation="eager")  # eager's softmax keeps float64
    model = transformers.GPT2LMHeadModel(config).eval()
    rng = np.random.default_rng(0)
    return Case("gpt2", model, lambda bug=None: GPT2(config, bug=bug, rngs=nnx.Rngs(0)),
                x=rng.integers(0, CONFIG["vocab_size"], (2, 8)),
                target=rng.standard_normal((2, 8, CONFIG["vocab_size"])),
                loss=nn.MSELoss(), names=NAMES, bugs=BUGS, copy=COPY, conv1d=CONV1D)
