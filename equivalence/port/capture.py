"""Record every matched leaf's input and output during one forward pass, in torch and in NNX, then undo the hooks."""

from __future__ import annotations

import contextlib
from typing import Any, NamedTuple

import numpy as np

from .match import Pair


class Call(NamedTuple):
    name: str  # torch name, with '#2', '#3' for a leaf called again
    input: Any  # in the NNX layout (NumPy from torch; a jax value from NNX)
    output: Any


def _array(value) -> np.ndarray | None:
    try:
        return np.asarray(value.detach().cpu().numpy() if hasattr(value, "detach") else value)
    except (TypeError, ValueError, RuntimeError):
        return None


def _numbered(calls: list, name: str) -> str:
    k = sum(1 for c in calls if c.name == name or c.name.startswith(name + "#"))
    return name if k == 0 else f"{name}#{k + 1}"


@contextlib.contextmanager
def torch_calls(pairs: list[Pair], calls: list[Call]):
    """Forward hooks on the torch leaves, converting to the NNX layout by each pair's rule; removed on exit."""
    handles = []

    def hook_for(pair: Pair):
        def hook(module, args, output):
            x = _array(args[0]) if args else None
            y = _array(pair.rule.pick(output))
            calls.append(Call(_numbered(calls, pair.torch_name),
                              None if x is None else pair.rule.input(x, module),
                              None if y is None else pair.rule.output(y, module)))
        return hook

    try:
        for pair in pairs:
            handles.append(pair.torch_module.register_forward_hook(hook_for(pair)))
        yield calls
    finally:
        for h in handles:
            h.remove()


_MISSING = object()


@contextlib.contextmanager
def nnx_calls(pairs: list[Pair], calls: list[Call]):
    """NNX has no hooks: wrap ``__call__`` of the leaves' classes for the check's duration, then restore it.

    Only the matched instances are recorded, each once per call (a subclass calling ``super().__call__``
    is not counted twice); other instances of the same classes run untouched.
    """
    names = {id(p.nnx_module): p for p in pairs}
    active: set[int] = set()
    saved: dict[type, Any] = {}

    def wrap(cls):
        original = cls.__call__

        def __call__(self, *args, **kwargs):
            pair = names.get(id(self))
            if pair is None or id(self) in active:
                return original(self, *args, **kwargs)
            active.add(id(self))
            try:
                out = original(self, *args, **kwargs)
            finally:
                active.discard(id(self))
            # raw values: under jax.jit these are tracers, returned from the traced function
            calls.append(Call(_numbered(calls, pair.torch_name), args[0] if args else None, pair.rule.pick(out)))
            return out

        return __call__

    try:
        for cls in {type(p.nnx_module) for p in pairs}:
            saved[cls] = cls.__dict__.get("__call__", _MISSING)
            cls.__call__ = wrap(cls)
        yield calls
    finally:
        for cls, original in saved.items():
            if original is _MISSING:
                delattr(cls, "__call__")
            else:
                cls.__call__ = original
