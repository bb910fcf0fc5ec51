"""The torch half of a check, on one copy: a recorded forward, the loss and gradients, then the optimizer steps."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from flax import nnx
from torch import nn

from equivalence.translate import UnsupportedError
from equivalence.translate import optimizer as translate_optimizer

from .calling import call, select
from .capture import Call, LowSites, TorchRecorder, to_numpy
from .copy import in_nnx_layout
from .errors import PortError
from .match import Pairing

TORCH_DTYPES = {"float64": torch.float64, "float32": torch.float32}
Layout = dict[str, tuple[str, np.ndarray]]  # NNX key -> (row name, array)


@dataclass
class TorchRun:
    y: np.ndarray
    calls: list[Call]
    sites: LowSites
    state: Layout  # batch statistics after the forward
    loss: np.ndarray | None = None
    grads: Layout | None = None
    theta0: Layout | None = None
    steps: list[tuple[Layout, Layout]] = field(default_factory=list)  # (params, statistics) after each step
    stats0: Layout | None = None  # batch statistics before the first forward
    step_grads: list[Layout] = field(default_factory=list)  # the gradient each step applied, at torch's state
    tx: Any = None  # the optimizer translated to Optax


def fresh(torch_module: nn.Module, dtype: str, train: bool) -> nn.Module:
    """The one copy a check works on, in its dtype and mode."""
    t = copy.deepcopy(torch_module).to(TORCH_DTYPES[dtype])
    return t.train(train)


def _rebuild(optimizer, original: nn.Module, twin: nn.Module):
    """The same optimizer class and settings over the copy's parameters, matched by name."""
    names = {id(p): k for k, p in original.named_parameters()}
    params = dict(twin.named_parameters())
    groups = []
    for g in optimizer.param_groups:
        if any(id(p) not in names for p in g["params"]):
            raise PortError(f"{type(optimizer).__name__} holds a tensor that is not a parameter of torch_module; "
                            "build it on torch_module.parameters().")
        groups.append({**{k: v for k, v in g.items() if k not in ("params", "param_names")},
                       "params": [params[names[id(p)]] for p in g["params"]]})
    return type(optimizer)(groups, **optimizer.defaults)


def _output(t: nn.Module, x, kwargs, output) -> torch.Tensor:
    y = select(call(t, x, kwargs), output, "torch")
    if not isinstance(y, torch.Tensor):
        raise PortError(f"the torch model's output is a {type(y).__name__}, not a tensor; pick one with "
                        "output='field' or output=lambda out: ...")
    return y


def run(original: nn.Module, t: nn.Module, pairing: Pairing, dtype: str, x, kwargs, output, target,
        loss: nn.Module | None, optimizer: Any, steps: int) -> TorchRun:
    """Everything the copy ``t`` computes, in the NNX layout: one forward per step, the first one recorded."""
    recorder = TorchRecorder(pairing.pairs, dtype)
    theta0 = in_nnx_layout(pairing, nnx.Param) if optimizer is not None else None
    stats0 = in_nnx_layout(pairing, nnx.BatchStat) if optimizer is not None else None
    with torch.set_grad_enabled(loss is not None), recorder.record():
        y = _output(t, x, kwargs, output)
    out = TorchRun(to_numpy(y), [c for c in recorder.calls if c is not None], recorder.sites,
                   in_nnx_layout(pairing, nnx.BatchStat), theta0=theta0, stats0=stats0)
    if loss is None:
        return out
    with torch.enable_grad():
        value = loss(y, target)
        value.backward()
        out.loss = to_numpy(value)
        out.grads = in_nnx_layout(pairing, nnx.Param, grad=True)
        if optimizer is None:
            return out
        opt = _rebuild(optimizer, original, t)
        try:  # translated while fresh: the Optax state starts from zero, like the rebuilt torch one
            out.tx = translate_optimizer(opt)
        except UnsupportedError as err:
            raise PortError(f"optimizer: {err}") from None
        for k in range(steps):
            if k:  # step 1 uses the recorded forward's gradients
                opt.zero_grad()
                loss(_output(t, x, kwargs, output), target).backward()
            out.step_grads.append(in_nnx_layout(pairing, nnx.Param, grad=True))
            opt.step()
            out.steps.append((in_nnx_layout(pairing, nnx.Param), in_nnx_layout(pairing, nnx.BatchStat)))
    return out
