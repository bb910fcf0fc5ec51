"""BERT for sequence classification and an NNX port on nnx.MultiHeadAttention, with two planted bugs."""

from __future__ import annotations

import functools

import jax.numpy as jnp
import numpy as np
import torch
import torch.nn as nn
import transformers
from flax import nnx

from . import parts
from .cases import Bug, Case

CONFIG = dict(vocab_size=64, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64,
              max_position_embeddings=16, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0, num_labels=3)


class Embeddings(nnx.Module):
    def __init__(self, c, eps: float, rngs: nnx.Rngs):
        self.tokens = nnx.Embed(c.vocab_size, c.hidden_size, rngs=rngs)
        self.positions = nnx.Embed(c.max_position_embeddings, c.hidden_size, rngs=rngs)
        self.segments = nnx.Embed(c.type_vocab_size, c.hidden_size, rngs=rngs)
        self.norm = nnx.LayerNorm(c.hidden_size, epsilon=eps, rngs=rngs)

    def __call__(self, ids):
        # one segment, positions 0..L-1: ports read those rows straight from the tables
        h = self.tokens(ids) + self.segments.embedding[...][0] + self.positions.embedding[...][: ids.shape[1]]
        return self.norm(h)


class Block(nnx.Module):
    def __init__(self, c, eps: float, scaled: bool, rngs: nnx.Rngs):
        self.attn = nnx.MultiHeadAttention(c.num_attention_heads, c.hidden_size, decode=False, rngs=rngs,
                                           attention_fn=functools.partial(parts.attend, scaled=scaled))
        self.ln1 = nnx.LayerNorm(c.hidden_size, epsilon=eps, rngs=rngs)
        self.fc1 = nnx.Linear(c.hidden_size, c.intermediate_size, rngs=rngs)
        self.fc2 = nnx.Linear(c.intermediate_size, c.hidden_size, rngs=rngs)
        self.ln2 = nnx.LayerNorm(c.hidden_size, epsilon=eps, rngs=rngs)

    def __call__(self, h, mask):
        h = self.ln1(h + self.attn(h, mask=mask))  # post-norm: BERT normalises after each residual
        return self.ln2(h + self.fc2(nnx.gelu(self.fc1(h), approximate=False)))


class Bert(nnx.Module):
    def __init__(self, c, *, bug: str | None = None, rngs: nnx.Rngs):
        eps = 1e-6 if bug == "layernorm_epsilon" else c.layer_norm_eps  # the bug: flax's default epsilon
        self.embed = Embeddings(c, eps, rngs)
        self.layers = nnx.List([Block(c, eps, bug != "attention_unscaled", rngs) for _ in range(c.num_hidden_layers)])
        self.pool = nnx.Linear(c.hidden_size, c.hidden_size, rngs=rngs)
        self.head = nnx.Linear(c.hidden_size, c.num_labels, rngs=rngs)

    def __call__(self, ids, *, mask=None):
        h = self.embed(ids)
        keys = None if mask is None else mask.astype(bool)[:, None, None, :]  # padding hidden as keys, as HF does
        for layer in self.layers:
            h = layer(h, keys)
        return self.head(jnp.tanh(self.pool(h[:, 0])))


NAMES = {  # torch glob -> twin glob: what a user passes as names=
    "bert.embeddings.word_embeddings": "embed.tokens",
    "bert.embeddings.position_embeddings": "embed.positions",
    "bert.embeddings.token_type_embeddings": "embed.segments",
    "bert.embeddings.LayerNorm": "embed.norm",
    "bert.encoder.layer.*.attention.self": "layers.*.attn",
    "bert.encoder.layer.*.attention.output.dense": "layers.*.attn.out",
    "bert.encoder.layer.*.attention.output.LayerNorm": "layers.*.ln1",
    "bert.encoder.layer.*.intermediate.dense": "layers.*.fc1",
    "bert.encoder.layer.*.output.dense": "layers.*.fc2",
    "bert.encoder.layer.*.output.LayerNorm": "layers.*.ln2",
    "bert.pooler.dense": "pool",
    "classifier": "head",
}
COPY = {**{k: v for k, v in NAMES.items() if not k.endswith("attention.self")},
        **{f"bert.encoder.layer.*.attention.self.{p}": f"layers.*.attn.{p}" for p in ("query", "key", "value")}}

BUGS = (
    Bug("layernorm_epsilon", "nnx.LayerNorm's default epsilon 1e-6 where BERT's config says 1e-12",
        ("bert.*LayerNorm",)),
    Bug("attention_unscaled", "attention_fn without the 1/sqrt(head_dim) scale",
        ("bert.encoder.layer.*.attention*",)),
)


def case() -> Case:
    torch.manual_seed(0)
    config = transformers.BertConfig(**CONFIG, attn_implementation="eager")  # eager's softmax keeps float64
    model = transformers.BertForSequenceClassification(config).eval()
    rng = np.random.default_rng(0)
    ids, mask = rng.integers(1, CONFIG["vocab_size"], (2, 8)), np.ones((2, 8), np.int64)
    ids[1, 6:], mask[1, 6:] = config.pad_token_id, 0  # a padded batch: each side takes the mask its own way
    return Case("bert", model, lambda bug=None: Bert(config, bug=bug, rngs=nnx.Rngs(0)), x=ids,
                target=rng.integers(0, 3, 2), loss=nn.CrossEntropyLoss(), names=NAMES,
                torch_kwargs={"attention_mask": mask}, nnx_kwargs={"mask": mask}, bugs=BUGS, copy=COPY)
