"""Translate PyTorch optimizers, schedulers, losses, clipping and init into exactly matching Optax/JAX."""

from .asgd import averaged_params
from .errors import UnsupportedError
from .initializers import LinearInit, init, linear_weights
from .losses import loss
from .optimizers import optimizer
from .transforms import clip_grad_norm

__all__ = [
    "LinearInit",
    "UnsupportedError",
    "averaged_params",
    "clip_grad_norm",
    "init",
    "linear_weights",
    "loss",
    "optimizer",
]
