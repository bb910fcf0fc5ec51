"""Held out: RoBERTa for sequence classification and an NNX port with LinearGeneral heads, one bug."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import torch
import torch.nn as nn
import transformers
from flax import nnx

from .. import parts
from ..cases import Bug, Case

CONFIG = dict(vocab_size=64, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64,
              max_position_embeddings=20, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0, num_labels=3)


class Embeddings(nnx.Module):
    def __init__(self, c, bug: str | None, rngs: nnx.Rngs):
        self.words = nnx.Embed(c.vocab_size, c.hidden_size, rngs=rngs)
        self.pos = nnx.Embed(c.max_position_embeddings, c.hidden_size, rngs=rngs)
        self.types = nnx.Embed(c.type_vocab_size, c.hidden_size, rngs=rngs)
        self.ln = nnx.LayerNorm(c.hidden_size, epsilon=c.layer_norm_eps, rngs=rngs)
        self.pad, self.bug = c.pad_token_id, bug

    def __call__(self, ids):
        real = (ids != self.pad).astype(jnp.int32)
        # RoBERTa counts positions from pad + 1 and gives padding the pad row; the bug counts from 0 as BERT does
        positions = jnp.broadcast_to(jnp.arange(ids.shape[1]), ids.shape) if self.bug == "positions_from_zero" \
            else jnp.cumsum(real, axis=1) * real + self.pad
        h = self.words(ids) + self.types.embedding[...][0]
        return self.ln(h + self.pos(positions))


class Layer(nnx.Module):
    def __init__(self, c, rngs: nnx.Rngs):
        e, h, d = c.hidden_size, c.num_attention_heads, c.hidden_size // c.num_attention_heads
        self.q, self.k, self.v = (nnx.LinearGeneral(e, (h, d), rngs=rngs) for _ in range(3))
        self.o = nnx.LinearGeneral((h, d), e, axis=(-2, -1), rngs=rngs)
        self.ln1 = nnx.LayerNorm(e, epsilon=c.layer_norm_eps, rngs=rngs)
        self.up = nnx.Linear(e, c.intermediate_size, rngs=rngs)
        self.down = nnx.Linear(c.intermediate_size, e, rngs=rngs)
        self.ln2 = nnx.LayerNorm(e, epsilon=c.layer_norm_eps, rngs=rngs)

    def __call__(self, x):
        x = self.ln1(x + self.o(parts.attend(self.q(x), self.k(x), self.v(x))))
        return self.ln2(x + self.down(nnx.gelu(self.up(x), approximate=False)))


class Roberta(nnx.Module):
    def __init__(self, c, *, bug: str | None = None, rngs: nnx.Rngs):
        self.emb = Embeddings(c, bug, rngs)
        self.enc = nnx.List([Layer(c, rngs) for _ in range(c.num_hidden_layers)])
        self.fc = nnx.Linear(c.hidden_size, c.hidden_size, rngs=rngs)
        self.out = nnx.Linear(c.hidden_size, c.num_labels, rngs=rngs)

    def __call__(self, ids):
        h = self.emb(ids)
        for layer in self.enc:
            h = layer(h)
        return self.out(jnp.tanh(self.fc(h[:, 0])))


NAMES = {"roberta.embeddings.word_embeddings": "emb.words", "roberta.embeddings.position_embeddings": "emb.pos",
         "roberta.embeddings.token_type_embeddings": "emb.types", "roberta.embeddings.LayerNorm": "emb.ln",
         **{f"roberta.encoder.layer.*.{a}": f"enc.*.{b}" for a, b in (
             ("attention.self.query", "q"), ("attention.self.key", "k"), ("attention.self.value", "v"),
             ("attention.output.dense", "o"), ("attention.output.LayerNorm", "ln1"), ("intermediate.dense", "up"),
             ("output.dense", "down"), ("output.LayerNorm", "ln2"))},
         "classifier.dense": "fc", "classifier.out_proj": "out"}
COPY = dict(NAMES)

BUGS = (Bug("positions_from_zero", "position ids 0..L-1 (BERT's) where RoBERTa counts from padding_idx + 1",
            ("roberta.embeddings*", "between roberta.embeddings.* and roberta.embeddings.LayerNorm")),)


def case() -> Case:
    torch.manual_seed(0)
    config = transformers.RobertaConfig(**CONFIG, attn_implementation="eager")  # eager's softmax keeps float64
    model = transformers.RobertaForSequenceClassification(config).eval()
    rng = np.random.default_rng(2)
    ids = rng.integers(3, CONFIG["vocab_size"], (2, 8))
    ids[:, 0] = config.bos_token_id  # <s> first, as the tokenizer does; no padding, so no attention mask is needed
    return Case("roberta", model, lambda bug=None: Roberta(config, bug=bug, rngs=nnx.Rngs(0)), x=ids,
                target=rng.integers(0, 3, 2), loss=nn.CrossEntropyLoss(), names=NAMES, bugs=BUGS, copy=COPY)
