"""The registry of the Hugging Face zoo: one Case per family (torch model, twin factory, inputs, user code, bugs)."""

from __future__ import annotations

import contextlib
import fnmatch
import inspect
from dataclasses import dataclass, field
from typing import Any, Callable, ContextManager

import numpy as np
import torch.nn as nn
from flax import nnx


@dataclass(frozen=True)
class Bug:
    """A mistake real ports make, planted with ``make_twin(bug=name)``.

    ``blame``: fnmatch patterns for the report's ``first_divergence`` (a torch layer path, or a gap
    "between A and B"); a bug planted in every LayerNorm may be blamed on any of them.
    """

    name: str
    what: str
    blame: tuple[str, ...]

    def blamed(self, first_divergence: str | None) -> bool:
        return first_divergence is not None and any(fnmatch.fnmatchcase(first_divergence, p) for p in self.blame)


@dataclass(frozen=True)
class Case:
    name: str
    torch_model: nn.Module
    make_twin: Callable[..., nnx.Module]  # make_twin(bug=None) -> a twin with its own (uncopied) weights
    x: np.ndarray
    target: np.ndarray
    loss: nn.Module
    names: dict[str, str]  # what the user passes to port.compare: short glob patterns
    torch_kwargs: dict[str, Any] | None = None
    nnx_kwargs: dict[str, Any] | None = None
    output: str | None = "logits"
    jax_x: np.ndarray | None = None
    # functions returning the port.Rule objects the user writes (called late: importing the engine is not free)
    rules: tuple[Callable[[], Any], ...] = ()
    bugs: tuple[Bug, ...] = ()
    # test scaffolding, not user code: the direct check's leaf-level copy table and HF's float32 internals
    copy: dict[str, str] = field(default_factory=dict)
    conv1d: tuple[str, ...] = ()
    float64: Callable[[], ContextManager] = contextlib.nullcontext

    def compare_kwargs(self) -> dict[str, Any]:
        """Everything port.compare needs beyond the two models."""
        kw = {"x": self.x, "target": self.target, "loss": self.loss, "names": self.names, "output": self.output,
              "torch_kwargs": self.torch_kwargs, "nnx_kwargs": self.nnx_kwargs}
        if self.jax_x is not None:
            kw["jax_x"] = self.jax_x
        if self.rules:
            kw["rules"] = [make() for make in self.rules]
        return kw


def user_lines(case: Case) -> int:
    """Lines of user code: one per names entry, per call argument (kwargs, output=), and each rule's source lines."""
    rules = sum(len(inspect.getsourcelines(make)[0]) for make in case.rules)
    return (len(case.names) + len(case.torch_kwargs or {}) + len(case.nnx_kwargs or {}) + (case.output is not None)
            + rules)
