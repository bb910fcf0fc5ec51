"""ResNet (bottleneck, BatchNorm in eval mode) and an NNX port in NHWC, with two planted bugs."""

from __future__ import annotations

import functools

import numpy as np
import torch
import torch.nn as nn
import transformers
from flax import nnx

from .cases import Bug, Case

CONFIG = dict(num_channels=3, embedding_size=8, hidden_sizes=[16, 32], depths=[1, 1], layer_type="bottleneck",
              num_labels=3)


class ConvBN(nnx.Module):
    def __init__(self, cin: int, cout: int, kernel: int, stride: int, eps: float, act: bool, rngs: nnx.Rngs):
        self.conv = nnx.Conv(cin, cout, (kernel, kernel), strides=stride, padding=kernel // 2, use_bias=False,
                             rngs=rngs)
        self.bn = nnx.BatchNorm(cout, epsilon=eps, use_running_average=True, rngs=rngs)
        self.act = act

    def __call__(self, x):
        y = self.bn(self.conv(x))
        return nnx.relu(y) if self.act else y


class Bottleneck(nnx.Module):
    def __init__(self, cin: int, cout: int, stride: int, bug: str | None, eps: float, rngs: nnx.Rngs):
        mid, conv = cout // 4, functools.partial(ConvBN, eps=eps, rngs=rngs)
        # HF (ResNet v1.5) strides the 3x3; the bug strides the first 1x1, as the original v1 paper did
        s1, s3 = (stride, 1) if bug == "stride_in_reduce" else (1, stride)
        self.reduce, self.conv, self.expand = conv(cin, mid, 1, s1, act=True), conv(mid, mid, 3, s3, act=True), \
            conv(mid, cout, 1, 1, act=False)
        self.proj = conv(cin, cout, 1, stride, act=False) if (cin != cout or stride != 1) else None

    def __call__(self, x):
        shortcut = self.proj(x) if self.proj is not None else x
        return nnx.relu(self.expand(self.conv(self.reduce(x))) + shortcut)


class ResNet(nnx.Module):
    def __init__(self, c, *, bug: str | None = None, rngs: nnx.Rngs):
        eps = 1e-3 if bug == "batchnorm_epsilon" else 1e-5  # the bug: Keras' BatchNormalization default
        self.stem = ConvBN(c.num_channels, c.embedding_size, 7, 2, eps, True, rngs)
        widths, stages = [c.embedding_size, *c.hidden_sizes], []
        for i, depth in enumerate(c.depths):
            stride = 2 if i > 0 or c.downsample_in_first_stage else 1
            stages.append(nnx.List([Bottleneck(widths[i] if j == 0 else widths[i + 1], widths[i + 1],
                                               stride if j == 0 else 1, bug, eps, rngs) for j in range(depth)]))
        self.stages = nnx.List(stages)
        self.head = nnx.Linear(c.hidden_sizes[-1], c.num_labels, rngs=rngs)

    def __call__(self, x):  # NHWC
        x = nnx.max_pool(self.stem(x), (3, 3), strides=(2, 2), padding=((1, 1), (1, 1)))
        for stage in self.stages:
            for block in stage:
                x = block(x)
        return self.head(x.mean(axis=(1, 2)))


NAMES = {"resnet.embedder.embedder": "stem", "resnet.encoder.stages.*.layers.*.shortcut": "stages.*.*.proj",
         "resnet.encoder.stages.*.layers.*.layer.0": "stages.*.*.reduce",
         "resnet.encoder.stages.*.layers.*.layer.1": "stages.*.*.conv",
         "resnet.encoder.stages.*.layers.*.layer.2": "stages.*.*.expand", "classifier.1": "head"}
COPY = {f"{k}.{a}": f"{v}.{b}" for k, v in NAMES.items() if k != "classifier.1"
        for a, b in (("convolution", "conv"), ("normalization", "bn"))} | {"classifier.1": "head"}

BUGS = (
    Bug("batchnorm_epsilon", "BatchNorm epsilon 1e-3 (Keras' default) where torch's is 1e-5",
        ("resnet.*.normalization",)),
    Bug("stride_in_reduce", "the stride on the first 1x1 conv (ResNet v1) where HF strides the 3x3 (v1.5)",
        ("resnet.encoder.stages.1.layers.0.layer.0.convolution",)),
)


def case() -> Case:
    torch.manual_seed(0)
    model = transformers.ResNetForImageClassification(transformers.ResNetConfig(**CONFIG)).eval()
    with torch.no_grad():  # trained-looking statistics, so that eval-mode BatchNorm is not the identity
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5), m.bias.normal_(0, 0.1)
                m.running_mean.normal_(0, 0.1), m.running_var.uniform_(0.5, 1.5)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 16, 16))
    return Case("resnet", model, lambda bug=None: ResNet(model.config, bug=bug, rngs=nnx.Rngs(0)), x=x,
                target=rng.integers(0, 3, 2), loss=nn.CrossEntropyLoss(), names=NAMES, jax_x=x.transpose(0, 2, 3, 1),
                bugs=BUGS, copy=COPY)
