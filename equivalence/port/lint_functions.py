"""Lint of parameter-free layers (GELU and HF's GELU classes, pooling, Dropout) against the NNX attribute at their path."""

from __future__ import annotations

import functools
from typing import Any

import jax
from flax import nnx
from torch import nn

from .finding import Finding
from .names import canonical


def _tuple(v, n: int) -> tuple:
    return tuple(v) if isinstance(v, (tuple, list)) else (v,) * n


def nnx_attribute(model: Any, name: str) -> Any:
    """The NNX object at a torch path (a Module, a function, a functools.partial), or None."""
    obj = model
    for part in canonical(name).split(".") if name else []:
        if isinstance(obj, nnx.Sequential):
            obj = obj.layers
        if part.isdigit() and not hasattr(obj, part):
            try:
                obj = obj[int(part)]
            except (TypeError, IndexError, KeyError):
                return None
        else:
            obj = getattr(obj, part, None)
        if obj is None:
            return None
    return obj


def _function(obj) -> tuple[Any, dict]:
    if isinstance(obj, functools.partial):
        return obj.func, dict(obj.keywords)
    return obj, {}


# HF's activation classes by name: True when they compute the tanh approximation
HF_GELU = {"GELUActivation": False, "NewGELUActivation": True, "GELUTanh": True, "PytorchGELUTanh": True,
           "GELUPytorchTanh": True, "FastGELUActivation": True, "AccurateGELUActivation": True}


def _tanh_gelu(t) -> bool | None:
    if isinstance(t, nn.GELU):
        return t.approximate == "tanh"
    return HF_GELU.get(type(t).__name__)


def _gelu(name: str, t: nn.Module, obj, out: list) -> None:
    fn, kw = _function(obj)
    tanh = _tanh_gelu(t)
    if (fn is not jax.nn.gelu and fn is not nnx.gelu) or tanh is None:
        return
    approximate = kw.get("approximate", True)
    if tanh != approximate:
        out.append(Finding(name, "approximate", "tanh" if tanh else "none (exact erf)", approximate,
                           f"functools.partial(jax.nn.gelu, approximate={tanh})"))


def _pool(name: str, t: nn.Module, obj, out: list) -> None:
    fn, kw = _function(obj)
    if getattr(fn, "__name__", "") not in ("max_pool", "avg_pool") or not kw:
        return
    n = len(_tuple(kw.get("window_shape", ()), 1))
    t_stride = t.stride if t.stride is not None else t.kernel_size
    f_stride = kw.get("strides") or 1
    if _tuple(t_stride, n) != _tuple(f_stride, n):
        out.append(Finding(name, "stride/strides", t_stride, kw.get("strides"),
                           f"strides={_tuple(t_stride, n)} (torch stride=None means kernel_size, flax None means 1)"))
    if _tuple(t.kernel_size, n) != _tuple(kw.get("window_shape"), n):
        out.append(Finding(name, "kernel_size/window_shape", t.kernel_size, kw.get("window_shape"),
                           f"window_shape={_tuple(t.kernel_size, n)}"))


def _dropout(name: str, t: nn.Module, obj, out: list) -> None:
    if isinstance(obj, nnx.Dropout) and obj.rate != t.p:
        out.append(Finding(name, "p/rate", t.p, obj.rate, f"nnx.Dropout({t.p})"))


class _GeluTypes(type):
    def __instancecheck__(cls, obj) -> bool:
        return isinstance(obj, nn.GELU) or type(obj).__name__ in HF_GELU


class GeluLike(metaclass=_GeluTypes):
    pass


FUNCTIONAL = ((GeluLike, _gelu), ((nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d, nn.AvgPool1d, nn.AvgPool2d,
                                  nn.AvgPool3d), _pool), ((nn.Dropout, nn.Dropout1d, nn.Dropout2d), _dropout))
