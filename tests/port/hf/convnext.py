"""ConvNeXt image classifier and an NNX port in NHWC (depthwise conv, layer scale), with two planted bugs."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import torch
import torch.nn as nn
import transformers
from flax import nnx
from transformers.models.convnext import modeling_convnext as hf

from .cases import Bug, Case

CONFIG = dict(num_channels=3, patch_size=4, hidden_sizes=[8, 16], depths=[1, 1], num_stages=2, num_labels=3,
              image_size=16, layer_scale_init_value=0.5)  # HF's 1e-6 would make every block nearly the identity


class Block(nnx.Module):
    def __init__(self, dim: int, eps: float, bug: str | None, rngs: nnx.Rngs):
        self.dw = nnx.Conv(dim, dim, (7, 7), padding=3, feature_group_count=dim, rngs=rngs)
        self.norm = nnx.LayerNorm(dim, epsilon=eps, rngs=rngs)
        self.fc1, self.fc2 = nnx.Linear(dim, 4 * dim, rngs=rngs), nnx.Linear(4 * dim, dim, rngs=rngs)
        self.gamma = nnx.Param(jnp.ones((dim,)))
        self.bug = bug

    def __call__(self, x):
        h = self.fc2(jax.nn.gelu(self.fc1(self.norm(self.dw(x))), approximate=False))
        return x + (h if self.bug == "layer_scale_dropped" else self.gamma[...] * h)  # the bug: gamma never applied


class ConvNeXt(nnx.Module):
    def __init__(self, c, *, bug: str | None = None, rngs: nnx.Rngs):
        eps = 1e-12 if bug == "layernorm_epsilon" else 1e-6  # the bug: BERT's epsilon; ConvNeXt hard-codes 1e-6
        sizes, p = c.hidden_sizes, c.patch_size
        self.stem = nnx.Sequential(nnx.Conv(c.num_channels, sizes[0], (p, p), strides=p, padding="VALID", rngs=rngs),
                                   nnx.LayerNorm(sizes[0], epsilon=eps, rngs=rngs))
        self.down = nnx.List([nnx.Sequential(nnx.LayerNorm(sizes[i - 1], epsilon=eps, rngs=rngs),
                                             nnx.Conv(sizes[i - 1], sizes[i], (2, 2), strides=2, padding="VALID",
                                                      rngs=rngs)) for i in range(1, len(sizes))])
        self.stages = nnx.List([nnx.List([Block(sizes[i], eps, bug, rngs) for _ in range(d)])
                                for i, d in enumerate(c.depths)])
        # the pooled features' norm alone reads config.layer_norm_eps (1e-12)
        self.norm = nnx.LayerNorm(sizes[-1], epsilon=c.layer_norm_eps, rngs=rngs)
        self.head = nnx.Linear(sizes[-1], c.num_labels, rngs=rngs)

    def __call__(self, x):  # NHWC
        x = self.stem(x)
        for i, stage in enumerate(self.stages):
            x = self.down[i - 1](x) if i > 0 else x
            for block in stage:
                x = block(x)
        return self.head(self.norm(x.mean(axis=(1, 2))))


# ConvNextLayerNorm(data_format="channels_first") needs no rule of the user's: the engine reads data_format.
def layer_scale_rule():  # ConvNextLayer holds layer_scale_parameter itself; its children keep their own rules
    from equivalence import port
    return port.Rule("ConvNextLayer", (hf.ConvNextLayer,), (Block,), lambda m, t: {"gamma": t["layer_scale_parameter"]},
                     lambda m, a: {"layer_scale_parameter": a["gamma"]}, output=port.channels_last,
                     input=port.channels_last, composite=True)


NAMES = {"convnext.embeddings.patch_embeddings": "stem.layers.0", "convnext.embeddings.layernorm": "stem.layers.1",
         "convnext.encoder.stages.1.downsampling_layer": "down.0", "convnext.encoder.stages.*.layers.*": "stages.*.*",
         "convnext.layernorm": "norm", "classifier": "head"}
COPY = {"convnext.embeddings.patch_embeddings": "stem.layers.0", "convnext.embeddings.layernorm": "stem.layers.1",
        "convnext.encoder.stages.1.downsampling_layer.*": "down.0.layers.*", "convnext.layernorm": "norm",
        "classifier": "head", "convnext.encoder.stages.*.layers.*.layer_scale_parameter": "stages.*.*.gamma",
        **{f"convnext.encoder.stages.*.layers.*.{a}": f"stages.*.*.{b}"
           for a, b in (("dwconv", "dw"), ("layernorm", "norm"), ("pwconv1", "fc1"), ("pwconv2", "fc2"))}}

BUGS = (
    Bug("layernorm_epsilon", "LayerNorm epsilon 1e-12 (BERT's) where ConvNeXt uses 1e-6",
        ("convnext.*layernorm", "convnext.encoder.stages.*.downsampling_layer.0")),
    Bug("layer_scale_dropped", "the layer-scale gamma loaded but never multiplied in",
        ("convnext.encoder.stages.*.layers.*", "between convnext.encoder.stages.*.layers.*.pwconv2 and *")),
)


def case() -> Case:
    torch.manual_seed(0)
    model = transformers.ConvNextForImageClassification(transformers.ConvNextConfig(**CONFIG)).eval()
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 16, 16))
    return Case("convnext", model, lambda bug=None: ConvNeXt(model.config, bug=bug, rngs=nnx.Rngs(0)), x=x,
                target=rng.integers(0, 3, 2), loss=nn.CrossEntropyLoss(), names=NAMES, jax_x=x.transpose(0, 2, 3, 1),
                rules=(layer_scale_rule,), bugs=BUGS, copy=COPY)
