"""Held out: DeiT with its distillation token and head, and an NNX port (blocks in nnx.Sequential), one bug."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import torch
import torch.nn as nn
import transformers
from flax import nnx
from transformers.models.deit import modeling_deit as hf

from .. import parts
from ..cases import Bug, Case

CONFIG = dict(image_size=16, patch_size=4, num_channels=3, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
              intermediate_size=64, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0, num_labels=3)


class Embeddings(nnx.Module):
    def __init__(self, c, bug: str | None, rngs: nnx.Rngs):
        p, e = c.patch_size, c.hidden_size
        self.proj = nnx.Conv(c.num_channels, e, (p, p), strides=p, padding="VALID", rngs=rngs)
        self.cls, self.dist = nnx.Param(jnp.zeros((1, 1, e))), nnx.Param(jnp.zeros((1, 1, e)))
        self.pos = nnx.Param(jnp.zeros((1, (c.image_size // p) ** 2 + 2, e)))
        self.bug = bug

    def __call__(self, images):  # NHWC
        x = self.proj(images)
        x = x.reshape(x.shape[0], -1, x.shape[-1])
        cls, dist = (jnp.broadcast_to(t[...], (x.shape[0], 1, x.shape[-1])) for t in (self.cls, self.dist))
        # HF puts [cls, distillation, patches]; the bug swaps the two tokens (their position rows stay put)
        first = (dist, cls) if self.bug == "token_order" else (cls, dist)
        return jnp.concatenate([*first, x], axis=1) + self.pos[...]


class Block(nnx.Module):
    def __init__(self, c, rngs: nnx.Rngs):
        self.norm1 = nnx.LayerNorm(c.hidden_size, epsilon=c.layer_norm_eps, rngs=rngs)
        self.attn = nnx.MultiHeadAttention(c.num_attention_heads, c.hidden_size, decode=False,
                                           attention_fn=parts.attend, rngs=rngs)
        self.norm2 = nnx.LayerNorm(c.hidden_size, epsilon=c.layer_norm_eps, rngs=rngs)
        self.fc1 = nnx.Linear(c.hidden_size, c.intermediate_size, rngs=rngs)
        self.fc2 = nnx.Linear(c.intermediate_size, c.hidden_size, rngs=rngs)

    def __call__(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.fc2(jax.nn.gelu(self.fc1(self.norm2(x)), approximate=False))


class DeiT(nnx.Module):
    def __init__(self, c, *, bug: str | None = None, rngs: nnx.Rngs):
        self.embed = Embeddings(c, bug, rngs)
        self.blocks = nnx.Sequential(*[Block(c, rngs) for _ in range(c.num_hidden_layers)])
        self.norm = nnx.LayerNorm(c.hidden_size, epsilon=c.layer_norm_eps, rngs=rngs)
        self.head = nnx.Linear(c.hidden_size, c.num_labels, rngs=rngs)
        self.head_dist = nnx.Linear(c.hidden_size, c.num_labels, rngs=rngs)

    def __call__(self, images):
        x = self.norm(self.blocks(self.embed(images)))
        return (self.head(x[:, 0]) + self.head_dist(x[:, 1])) / 2  # inference: the two heads averaged


def embeddings_rule():  # DeiTEmbeddings holds its tokens and position table itself; its conv keeps its own rule
    from equivalence import port
    return port.Rule("DeiTEmbeddings", (hf.DeiTEmbeddings,), (Embeddings,),
                     lambda m, t: {"cls": t["cls_token"], "dist": t["distillation_token"],
                                   "pos": t["position_embeddings"]},
                     lambda m, a: {"cls_token": a["cls"], "distillation_token": a["dist"],
                                   "position_embeddings": a["pos"]},
                     input=port.channels_last, composite=True)


NAMES = {"deit.embeddings": "embed", "deit.embeddings.patch_embeddings.projection": "embed.proj",
         "deit.layers.*.attention": "blocks.*.attn", "deit.layers.*.layernorm_before": "blocks.*.norm1",
         "deit.layers.*.layernorm_after": "blocks.*.norm2", "deit.layers.*.mlp": "blocks.*",
         "deit.layernorm": "norm", "cls_classifier": "head", "distillation_classifier": "head_dist"}
COPY = {"deit.embeddings.cls_token": "embed.cls", "deit.embeddings.distillation_token": "embed.dist",
        "deit.embeddings.position_embeddings": "embed.pos", "deit.embeddings.patch_embeddings.projection": "embed.proj",
        "deit.layers.*.layernorm_before": "blocks.layers.*.norm1",
        "deit.layers.*.layernorm_after": "blocks.layers.*.norm2",
        "deit.layers.*.mlp.fc1": "blocks.layers.*.fc1", "deit.layers.*.mlp.fc2": "blocks.layers.*.fc2",
        "deit.layernorm": "norm", "cls_classifier": "head", "distillation_classifier": "head_dist",
        **{f"deit.layers.*.attention.{a}": f"blocks.layers.*.attn.{b}"
           for a, b in (("q_proj", "query"), ("k_proj", "key"), ("v_proj", "value"), ("o_proj", "out"))}}

BUGS = (Bug("token_order", "[distillation, cls] where DeiT orders [cls, distillation]", ("deit.embeddings",)),)


def case() -> Case:
    torch.manual_seed(0)
    # sdpa, not eager: eager's softmax runs in float32 (dtype=torch.float32) even on float64 inputs
    config = transformers.DeiTConfig(**CONFIG, attn_implementation="sdpa")
    model = transformers.DeiTForImageClassificationWithTeacher(config).eval()
    with torch.no_grad():  # trained-looking tokens: HF initialises the distillation token to zeros
        model.deit.embeddings.cls_token.normal_(0, 0.5), model.deit.embeddings.distillation_token.normal_(0, 0.5)
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 3, 16, 16))
    return Case("deit", model, lambda bug=None: DeiT(config, bug=bug, rngs=nnx.Rngs(0)), x=x,
                target=rng.integers(0, 3, 2), loss=nn.CrossEntropyLoss(), names=NAMES, jax_x=x.transpose(0, 2, 3, 1),
                rules=(embeddings_rule,), bugs=BUGS, copy=COPY)
