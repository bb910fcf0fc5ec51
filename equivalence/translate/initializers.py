"""PyTorch's default nn.Linear initialisation as JAX initializers, and weight copying."""

from __future__ import annotations

import math
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import torch.nn as nn

from .errors import UnsupportedError

Initializer = Callable[..., jax.Array]  # (key, shape, dtype) -> array


class LinearInit(NamedTuple):
    """Initializers for one ``nn.Linear`` in canonical layout.

    ``w`` draws shape ``(fan_in, fan_out)`` (torch's ``weight.T``), ``b``
    shape ``(fan_out,)``; ``b`` is None when the layer has no bias.
    """

    w: Initializer
    b: Initializer | None
    fan_in: int
    fan_out: int


def _uniform(bound: float) -> Initializer:
    # jax.nn.initializers.uniform(scale) draws from [0, scale): not symmetric.
    def init(key, shape, dtype=jnp.float_):
        return jax.random.uniform(key, shape, dtype, minval=-bound, maxval=bound)

    return init


def _linear(layer: nn.Linear) -> LinearInit:
    fan_in, fan_out = layer.in_features, layer.out_features
    # kaiming_uniform_(a=sqrt(5)): gain sqrt(2 / (1 + 5)), bound
    # gain * sqrt(3 / fan_in) = 1 / sqrt(fan_in). As variance scaling that is
    # scale 1/3, "fan_in", "uniform" (lecun_uniform would be sqrt(3) too wide,
    # and flax's Dense default is lecun_normal, a different distribution).
    w = jax.nn.initializers.variance_scaling(1.0 / 3.0, "fan_in", "uniform", in_axis=0, out_axis=1)
    bound = 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0
    return LinearInit(
        w=w, b=_uniform(bound) if layer.bias is not None else None, fan_in=fan_in, fan_out=fan_out
    )


def _linear_layers(module: nn.Module) -> list[nn.Linear]:
    """The nn.Linear layers of ``module`` in registration order; refuses anything else with parameters."""
    layers = []
    for name, sub in module.named_modules():
        if type(sub) is nn.Linear:
            layers.append(sub)
        elif list(sub.parameters(recurse=False)):
            raise UnsupportedError(
                f"{type(sub).__name__} ({name or 'the module'}) has parameters but only nn.Linear "
                "is translated; initialise or copy it by hand."
            )
    return layers


def init(torch_module: nn.Module) -> LinearInit | list[LinearInit]:
    """JAX initializers drawing from the same distributions as torch's defaults.

    For an ``nn.Linear`` returns one :class:`LinearInit`; for a container
    (``nn.Sequential``, a custom module) a list, one per ``nn.Linear`` in
    registration order. Weight and bias are both ``U(-1/sqrt(fan_in),
    1/sqrt(fan_in))``. The *distribution* matches; the numbers cannot, since
    torch's and JAX's random generators differ. To start from torch's exact
    numbers, use :func:`linear_weights`.
    """
    if type(torch_module) is nn.Linear:
        return _linear(torch_module)
    return [_linear(layer) for layer in _linear_layers(torch_module)]


def linear_weights(torch_module: nn.Module) -> dict[str, np.ndarray] | list[dict[str, np.ndarray]]:
    """A torch module's Linear weights in canonical numpy layout.

    ``{"w": weight.T (Din, Dout), "b": bias (Dout,)}`` (no ``"b"`` without a
    bias); a list of those for a container, in registration order.
    """

    def one(layer: nn.Linear) -> dict[str, np.ndarray]:
        out = {"w": layer.weight.detach().cpu().numpy().T.copy()}
        if layer.bias is not None:
            out["b"] = layer.bias.detach().cpu().numpy().copy()
        return out

    if type(torch_module) is nn.Linear:
        return one(torch_module)
    return [one(layer) for layer in _linear_layers(torch_module)]
