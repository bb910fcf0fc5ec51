"""Translate PyTorch optimizers, schedulers, losses, clipping and init into exactly matching Optax/JAX."""

from .errors import UnsupportedError
from .initializers import LinearInit, copy_weights, init
from .losses import loss
from .optimizers import optimizer
from .transforms import clip_grad_norm

__all__ = [
    "LinearInit",
    "UnsupportedError",
    "clip_grad_norm",
    "copy_weights",
    "init",
    "loss",
    "optimizer",
]
