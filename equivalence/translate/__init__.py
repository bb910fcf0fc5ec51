"""Translate PyTorch optimizers, schedulers, losses, clipping and init into exactly matching Optax/JAX."""

from .asgd import averaged_params
from .errors import UnsupportedError
from .initializers import LinearInit, copy_weights, init
from .losses import loss
from .optimizers import optimizer
from .transforms import clip_grad_norm

__all__ = [
    "LinearInit",
    "UnsupportedError",
    "averaged_params",
    "clip_grad_norm",
    "copy_weights",
    "init",
    "loss",
    "optimizer",
]
