"""ViT image classifier and an NNX port (torch-layout patch kernel, nnx.MultiHeadAttention), with three bugs."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import torch
import torch.nn as nn
import transformers
from flax import nnx
from transformers.models.vit import modeling_vit as hf

from . import parts
from .cases import Bug, Case

CONFIG = dict(image_size=16, patch_size=4, num_channels=3, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
              intermediate_size=64, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0, num_labels=3)


class PatchEmbed(nnx.Module):
    """Keeps the kernel in torch's (out, in, kh, kw) layout so that checkpoints load as they are."""

    def __init__(self, c, transposed: bool, rngs: nnx.Rngs):
        p = c.patch_size
        self.weight = nnx.Param(nnx.initializers.lecun_normal()(rngs.params(), (c.hidden_size, c.num_channels, p, p)))
        self.bias = nnx.Param(jnp.zeros((c.hidden_size,)))
        self.stride, self.transposed = p, transposed

    def __call__(self, x):  # (N, H, W, C) -> (N, H/p, W/p, hidden)
        # OIHW -> HWIO; the bug, (3, 2, 1, 0), swaps kh and kw: the usual slip of a hand-written loader
        kernel = self.weight[...].transpose((3, 2, 1, 0) if self.transposed else (2, 3, 1, 0))
        y = jax.lax.conv_general_dilated(x, kernel, (self.stride, self.stride), "VALID",
                                         dimension_numbers=("NHWC", "HWIO", "NHWC"))
        return y + self.bias[...]


class Embed(nnx.Module):
    def __init__(self, c, transposed: bool, rngs: nnx.Rngs):
        self.patch = PatchEmbed(c, transposed, rngs)
        self.cls = nnx.Param(jnp.zeros((1, 1, c.hidden_size)))
        self.pos = nnx.Param(jnp.zeros((1, (c.image_size // c.patch_size) ** 2 + 1, c.hidden_size)))

    def __call__(self, images):  # NHWC
        x = self.patch(images)
        x = x.reshape(x.shape[0], -1, x.shape[-1])  # row-major patches, as torch's flatten(2).transpose(1, 2)
        x = jnp.concatenate([jnp.broadcast_to(self.cls[...], (x.shape[0], 1, x.shape[-1])), x], axis=1)
        return x + self.pos[...]


class Block(nnx.Module):
    def __init__(self, c, eps: float, tanh_gelu: bool, rngs: nnx.Rngs):
        self.norm1 = nnx.LayerNorm(c.hidden_size, epsilon=eps, rngs=rngs)
        self.attn = nnx.MultiHeadAttention(c.num_attention_heads, c.hidden_size, decode=False,
                                           attention_fn=parts.attend, rngs=rngs)
        self.norm2 = nnx.LayerNorm(c.hidden_size, epsilon=eps, rngs=rngs)
        self.mlp = nnx.Sequential(nnx.Linear(c.hidden_size, c.intermediate_size, rngs=rngs),
                                  # the bug: jax.nn.gelu's default is the tanh approximation; HF's "gelu" is erf
                                  jax.nn.gelu if tanh_gelu else lambda h: jax.nn.gelu(h, approximate=False),
                                  nnx.Linear(c.intermediate_size, c.hidden_size, rngs=rngs))

    def __call__(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class ViT(nnx.Module):
    def __init__(self, c, *, bug: str | None = None, rngs: nnx.Rngs):
        eps = 1e-6 if bug == "layernorm_epsilon" else c.layer_norm_eps  # the bug: timm's 1e-6, HF says 1e-12
        self.embed = Embed(c, bug == "patch_kernel_transposed", rngs)
        self.blocks = nnx.List([Block(c, eps, bug == "gelu_tanh", rngs) for _ in range(c.num_hidden_layers)])
        self.norm = nnx.LayerNorm(c.hidden_size, epsilon=eps, rngs=rngs)
        self.head = nnx.Linear(c.hidden_size, c.num_labels, rngs=rngs)

    def __call__(self, images):  # NHWC
        x = self.embed(images)
        for block in self.blocks:
            x = block(x)
        return self.head(self.norm(x)[:, 0])


def patch_rule():  # the conv's tensors as they are: the twin keeps torch's layout
    from equivalence import port
    return port.Rule("PatchEmbed", (nn.Conv2d,), (PatchEmbed,), lambda m, t: dict(t), lambda m, a: dict(a),
                     output=port.channels_last, input=port.channels_last)


def embeddings_rule():  # ViTEmbeddings holds cls_token and position_embeddings itself; its conv keeps its own rule
    from equivalence import port
    return port.Rule("ViTEmbeddings", (hf.ViTEmbeddings,), (Embed,),
                     lambda m, t: {"cls": t["cls_token"], "pos": t["position_embeddings"]},
                     lambda m, a: {"cls_token": a["cls"], "position_embeddings": a["pos"]},
                     input=port.channels_last, composite=True)


NAMES = {"vit.embeddings": "embed", "vit.embeddings.patch_embeddings.projection": "embed.patch",
         "vit.layers.*.attention": "blocks.*.attn",
         "vit.layers.*.layernorm_before": "blocks.*.norm1", "vit.layers.*.layernorm_after": "blocks.*.norm2",
         "vit.layers.*.mlp.fc1": "blocks.*.mlp.layers.0", "vit.layers.*.mlp.fc2": "blocks.*.mlp.layers.2",
         "vit.layernorm": "norm", "classifier": "head"}
COPY = {**{k: v for k, v in NAMES.items() if not k.endswith(".attention")},
        **{f"vit.layers.*.attention.{a}": f"blocks.*.attn.{b}"
           for a, b in (("q_proj", "query"), ("k_proj", "key"), ("v_proj", "value"), ("o_proj", "out"))}}
COPY.update({"vit.embeddings.cls_token": "embed.cls", "vit.embeddings.position_embeddings": "embed.pos",
             "vit.embeddings.patch_embeddings.projection.weight": "embed.patch.weight",  # torch's layout, as it is
             "vit.embeddings.patch_embeddings.projection.bias": "embed.patch.bias"})

BUGS = (
    Bug("gelu_tanh", "jax.nn.gelu (tanh approximation) where HF's ViT uses the exact erf GELU",
        ("vit.layers.*.mlp*", "between vit.layers.*.mlp*")),
    Bug("layernorm_epsilon", "LayerNorm epsilon 1e-6 (timm's) where the config says 1e-12",
        ("vit.*layernorm*",)),
    Bug("patch_kernel_transposed", "the OIHW patch kernel transposed (3, 2, 1, 0): kh and kw swapped",
        ("vit.embeddings.patch_embeddings.projection",)),
)


def case() -> Case:
    torch.manual_seed(0)
    # sdpa, not eager: eager's softmax runs in float32 (dtype=torch.float32) even on float64 inputs
    config = transformers.ViTConfig(**CONFIG, attn_implementation="sdpa")
    model = transformers.ViTForImageClassification(config).eval()
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 16, 16))
    return Case("vit", model, lambda bug=None: ViT(config, bug=bug, rngs=nnx.Rngs(0)), x=x,
                target=rng.integers(0, 3, 2), loss=nn.CrossEntropyLoss(), names=NAMES, jax_x=x.transpose(0, 2, 3, 1),
                rules=(patch_rule, embeddings_rule), bugs=BUGS, copy=COPY)
