"""The order in which each side calls its layers: one torch forward on a copy, one NNX trace (nothing computed)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import jax
import torch
from flax import nnx
from torch import nn

from .calling import call

Order = Callable[[], tuple[dict[str, int], dict[str, int]]]


def probe(torch_model: nn.Module, nnx_model: nnx.Module, torch_x, torch_kwargs, jax_x, nnx_kwargs) -> Order:
    """A function giving (torch name -> first call, NNX path -> first call) for every module; run when asked."""
    def order() -> tuple[dict[str, int], dict[str, int]]:
        return _torch(torch_model, torch_x, torch_kwargs), _nnx(nnx_model, jax_x, nnx_kwargs)
    return order


def _torch(model: nn.Module, x, kwargs) -> dict[str, int]:
    model = copy.deepcopy(model)  # a train-mode forward moves running statistics
    seen: dict[str, int] = {}
    def hook_for(name):
        def hook(module, args):
            seen.setdefault(name, len(seen))  # returns None: the inputs stay as they are
        return hook

    handles = [m.register_forward_pre_hook(hook_for(name)) for name, m in model.named_modules()]
    try:
        with torch.no_grad():
            call(model, x, kwargs)
    except Exception:  # noqa: BLE001, S110 - the order breaks ties only: a model that cannot run leaves the refusal
        pass
    finally:
        for h in handles:
            h.remove()
    return seen


def _nnx(model: nnx.Module, x, kwargs) -> dict[str, int]:
    model = nnx.clone(model)  # traced, so a train-mode update would leave tracers in it
    ids = {id(m): ".".join(map(str, p)) for p, m in nnx.iter_graph(model) if isinstance(m, nnx.Module)}
    seen: dict[str, int] = {}
    saved: dict[type, Any] = {}

    def wrap(original):
        def __call__(self, *args, **kw):
            if id(self) in ids:
                seen.setdefault(ids[id(self)], len(seen))
            return original(self, *args, **kw)
        return __call__

    try:
        for cls in {type(m) for _, m in nnx.iter_graph(model) if isinstance(m, nnx.Module)}:
            if "__call__" in cls.__dict__:
                saved[cls] = cls.__dict__["__call__"]
                cls.__call__ = wrap(saved[cls])
        jax.make_jaxpr(lambda: call(model, x, kwargs))()
    except Exception:  # noqa: BLE001, S110 - as for torch: the refusal names the tie
        pass
    finally:
        for cls, original in saved.items():
            cls.__call__ = original
    return seen


def pairing(torch_model: nn.Module, nnx_model: nnx.Module, names: dict[str, str] | None = None, x=None, *,
            jax_x=None, torch_kwargs=None, nnx_kwargs=None):
    """The pairing compare would use, to print and review: `print(port.pairing(model, twin, names, x))`.

    With ``x`` (as for compare), ties between layers of the same type and shapes are broken by call order.
    """
    from .calling import check_input, converted, kwargs_for
    from .match import pair_models
    from .numerics import numerics

    check_input("x", x)
    order = None
    if x is not None:
        with numerics("float32"):
            tx, jx = converted(x, "float32")[0], converted(x if jax_x is None else jax_x, "float32")[1]
            ranks = probe(torch_model, nnx_model, tx, kwargs_for(torch_kwargs, "float32", 0), jx,
                          kwargs_for(nnx_kwargs, "float32", 1))()
        order = lambda: ranks
    return pair_models(torch_model, nnx_model, names, order=order)
