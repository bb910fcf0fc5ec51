"""How each side is called and what is compared: inputs (arrays, token ids, a dict), keyword arguments, one output."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import torch

from .errors import PortError

DEFAULT_FIELDS = ("logits", "last_hidden_state")


def check_input(label: str, a) -> None:
    if a is None or isinstance(a, np.ndarray):
        return
    if isinstance(a, Mapping) and a and all(isinstance(k, str) and isinstance(v, np.ndarray) for k, v in a.items()):
        return
    raise PortError(f"{label} is a {type(a).__name__}; pass a NumPy array (np.asarray(...)), or a dict of them "
                    "for keyword inputs.")


def _one(a, dtype: str):
    import jax.numpy as jnp

    if not isinstance(a, np.ndarray):
        return a, a  # a flag, a number, None: as given, to both sides
    a = np.array(a, dtype=dtype) if np.issubdtype(a.dtype, np.floating) else np.array(a)
    return torch.from_numpy(a), jnp.asarray(a)


def converted(a, dtype: str) -> tuple[Any, Any]:
    """(torch, jax) versions of an array or a dict of arrays; floats in the check's dtype, integers as given."""
    if a is None:
        return None, None
    if isinstance(a, Mapping):
        pairs = {k: _one(v, dtype) for k, v in a.items()}
        return {k: v[0] for k, v in pairs.items()}, {k: v[1] for k, v in pairs.items()}
    return _one(a, dtype)


def call(model, x, kwargs: Mapping | None):
    kwargs = dict(kwargs or {})
    return model(**x, **kwargs) if isinstance(x, Mapping) else model(x, **kwargs)


def select(out, output: str | Callable | None, side: str):
    """The compared array of a return value: ``output`` (a field name or a function), else `logits`,
    else `last_hidden_state`, else the first element of a tuple."""
    if callable(output):
        return output(out)
    keys = (output,) if output is not None else DEFAULT_FIELDS
    for k in keys:
        if isinstance(out, Mapping) and k in out:
            return out[k]
        if not isinstance(out, (Mapping, tuple, list)) and hasattr(out, k) and not _is_array(out):
            return getattr(out, k)
        if isinstance(out, tuple) and hasattr(out, "_fields") and k in out._fields:
            return getattr(out, k)
    if output is not None and not _is_array(out):
        raise PortError(f"output={output!r}: the {side} model returned a {type(out).__name__} without that field; "
                        "name one it has, or pass a function output=lambda out: ...")
    if isinstance(out, Mapping):
        return next(iter(out.values()))
    if isinstance(out, (tuple, list)) and out:
        return out[0]
    return out


def _is_array(v) -> bool:
    return isinstance(v, (torch.Tensor, np.ndarray)) or type(v).__module__.startswith("jax")


def kwargs_for(kwargs: Mapping | None, dtype: str, side: int) -> dict:
    """Keyword arguments with NumPy arrays converted for one side (0 torch, 1 jax); other values as given."""
    return {k: converted(v, dtype)[side] if isinstance(v, np.ndarray) else v for k, v in (kwargs or {}).items()}
