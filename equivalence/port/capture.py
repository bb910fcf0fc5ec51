"""Record each paired leaf's input and output: torch by hooks (as copies), NNX by wrapping `__call__`, free or forced."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import torch
from torch.overrides import TorchFunctionMode

from .match import Pair, nnx_modules
from .rules import fit_shape

LOW = {"float64": (torch.float32, torch.float16, torch.bfloat16), "float32": (torch.float16, torch.bfloat16)}


@dataclass
class Call:
    name: str  # the torch leaf's name, with '#2', '#3' for a leaf called again
    pair: int  # index into the pairing
    input: Any  # the first array argument, in the NNX layout (NumPy from torch; a jax value from NNX)
    output: Any
    inputs: int = 1  # how many array arguments it took (only the first is forced)
    note: str = ""


@dataclass
class LowSites:
    """Where one side computed below the check's dtype: call index -> the first such operation."""

    own: dict[int, str] = field(default_factory=dict)  # inside the leaf of that call
    gap: dict[int, str] = field(default_factory=dict)  # in the code just before that call
    outside: str | None = None  # anywhere outside every leaf (position tables, masks...)


def numbered(counts: dict[str, int], name: str) -> str:
    counts[name] = k = counts.get(name, 0) + 1
    return name if k == 1 else f"{name}#{k}"


def to_numpy(t: torch.Tensor) -> np.ndarray:
    """A copy: the model may change the tensor in place after the hook (HF's `hidden += residual`)."""
    t = t.detach()
    if t.dtype in (torch.bfloat16, torch.float16):
        t = t.to(torch.float32)
    return t.cpu().clone().numpy()


def _first_tensor(args, kwargs, kind) -> tuple[Any, int]:
    found = [a for a in (*args, *kwargs.values()) if isinstance(a, kind)]
    return (found[0] if found else None), len(found)


class TorchRecorder:
    """Forward hooks (with a pre-hook, so inputs are copied before the leaf runs) and low-precision sites."""

    def __init__(self, pairs: list[Pair], dtype: str):
        self.pairs, self.low = pairs, LOW[dtype]
        self.calls: list[Call | None] = []
        self.sites, self.stack, self.counts, self.quiet = LowSites(), [], {}, False

    def _pre(self, i: int):
        def hook(module, args, kwargs):
            self.quiet = True
            try:
                pair = self.pairs[i]
                x, n = _first_tensor(args, kwargs, torch.Tensor)
                x = None if x is None else pair.rule.input(to_numpy(x), module)
                self.stack.append(len(self.calls))
                self.calls.append(Call(numbered(self.counts, pair.torch_name), i, x, None, n))
            finally:
                self.quiet = False
        return hook

    def _post(self, i: int):
        def hook(module, args, kwargs, output):
            self.quiet = True
            try:
                call = self.calls[self.stack.pop()]
                y = self.pairs[i].rule.pick(output)
                call.output = self.pairs[i].rule.output(to_numpy(y), module) if isinstance(y, torch.Tensor) else None
            finally:
                self.quiet = False
        return hook

    def saw(self, out, func) -> None:
        tensors = out if isinstance(out, (tuple, list)) else (out,)
        low = next((t.dtype for t in tensors if isinstance(t, torch.Tensor) and t.dtype in self.low), None)
        if low is None:
            return
        what = f"{getattr(func, '__name__', func)} -> {str(low).replace('torch.', '')}"
        if self.stack:
            self.sites.own.setdefault(self.stack[-1], what)
            if not self.pairs[self.calls[self.stack[-1]].pair].rule.composite:
                return
        else:
            self.sites.outside = self.sites.outside or what
        self.sites.gap.setdefault(len(self.calls), what)

    @contextlib.contextmanager
    def record(self):
        handles = []
        recorder = self

        class Low(TorchFunctionMode):
            def __torch_function__(self, func, types, args=(), kwargs=None):
                out = func(*args, **(kwargs or {}))
                if not recorder.quiet:
                    recorder.saw(out, func)
                return out

        try:
            for i, pair in enumerate(self.pairs):
                handles.append(pair.torch_module.register_forward_pre_hook(self._pre(i), with_kwargs=True))
                handles.append(pair.torch_module.register_forward_hook(self._post(i), with_kwargs=True))
            with Low():
                yield self
        finally:
            for h in handles:
                h.remove()


def _is_array(v) -> bool:
    return isinstance(v, (jax.Array, np.ndarray))


def _swap(args, kwargs, old, new):
    return (tuple(new if a is old else a for a in args), {k: new if v is old else v for k, v in kwargs.items()})


def _replace(out, old, new):
    if out is old:
        return new
    if isinstance(out, (tuple, list)):
        return type(out)(new if o is old else o for o in out)
    return out


class NnxRecorder:
    """NNX has no hooks: `__call__` of the leaves' classes is wrapped for the check's duration, then restored.

    Only the paired instances of the bound model are recorded, each once per call (a subclass calling
    ``super().__call__`` is not counted twice). With ``forced`` (torch's input and output per call
    name, NNX layout), a leaf runs on torch's input and hands torch's output on: each leaf's own error
    and the error of the code between two leaves are then measured alone. Each leaf runs in a
    ``port_leaf_<call>`` named scope, so the traced program tells which leaf computed what.
    """

    def __init__(self, pairs: list[Pair]):
        self.pairs = pairs
        self.ids: dict[int, int] = {}
        self.calls: list[Call | None] = []
        self.counts: dict[str, int] = {}
        self.forced: dict[str, tuple] | None = None
        self.active: set[int] = set()

    def bind(self, model, forced: dict[str, tuple] | None = None) -> list:
        by_path = nnx_modules(model)
        self.ids = {id(by_path[p.nnx_path]): i for i, p in enumerate(self.pairs) if p.nnx_path in by_path}
        self.calls, self.counts, self.forced = [], {}, forced
        return self.calls

    def call(self, original, module, args, kwargs):
        i = self.ids.get(id(module))
        if i is None or id(module) in self.active:
            return original(module, *args, **kwargs)
        pair = self.pairs[i]
        slot = len(self.calls)
        name = numbered(self.counts, pair.torch_name)
        self.calls.append(None)
        x, n = _first_tensor(args, kwargs, (jax.Array, np.ndarray))
        forced = None if self.forced is None else self.forced.get(name)
        note, given = "", (args, kwargs)
        if forced is not None and forced[0] is not None and x is not None:
            fx = fit_shape(forced[0], tuple(x.shape))
            # a different shape (a wrong stride upstream) is forced too: conv, norm and dense layers take any
            fx = forced[0] if fx is None else fx
            # torch's input as torch had it (the check's dtype): a leaf after a cast to bfloat16 is judged
            # on its own arithmetic, not on the cast before it (that is the gap's); integer ids keep NNX's dtype
            keep = jnp.issubdtype(x.dtype, jnp.floating) and jnp.issubdtype(fx.dtype, jnp.floating)
            args, kwargs = _swap(args, kwargs, x, jnp.asarray(fx, dtype=None if keep else x.dtype))
        self.active.add(id(module))
        try:
            with jax.named_scope(f"port_leaf_{slot}"):
                try:
                    out = original(module, *args, **kwargs)
                except Exception:
                    if (args, kwargs) is given:
                        raise
                    note = f"its input was not forced: torch {forced[0].shape} does not run in it (NNX {x.shape})"
                    out = original(module, *given[0], **given[1])
        finally:
            self.active.discard(id(module))
        y = pair.rule.pick(out)
        self.calls[slot] = Call(name, i, x, y if _is_array(y) else None, n, note)
        if forced is not None and forced[1] is not None and _is_array(y):
            fy = fit_shape(forced[1], tuple(y.shape))
            if fy is not None:
                out = _replace(out, y, jnp.asarray(fy, dtype=y.dtype))
        return out

    @contextlib.contextmanager
    def wrapped(self):
        saved: dict[type, Any] = {}
        recorder = self

        def wrap(cls):
            original = cls.__call__

            def __call__(self, *args, **kwargs):
                return recorder.call(original, self, args, kwargs)
            return __call__

        try:
            for cls in {type(p.nnx_module) for p in self.pairs}:
                saved[cls] = cls.__dict__.get("__call__", _MISSING)
                cls.__call__ = wrap(cls)
            yield self
        finally:
            for cls, original in saved.items():
                if original is _MISSING:
                    delattr(cls, "__call__")
                else:
                    cls.__call__ = original


_MISSING = object()
