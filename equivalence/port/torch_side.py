"""The torch half of a check: one forward with hooks, the loss and gradients, optimizer steps, each on a fresh copy."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import torch
import torch.nn as nn
from flax import nnx

from equivalence.translate import UnsupportedError
from equivalence.translate import optimizer as translate_optimizer

from .capture import torch_calls
from .errors import PortError
from .match import Pair, pairs
from .copy import nnx_variables, torch_arrays

TORCH_DTYPES = {"float64": torch.float64, "float32": torch.float32}


def fresh(torch_module: nn.Module, dtype: str, train: bool) -> nn.Module:
    t = copy.deepcopy(torch_module).to(TORCH_DTYPES[dtype])
    return t.train(train)


def key(pair: Pair, name: str) -> str:
    """A variable's dotted path from the NNX root."""
    return f"{pair.nnx_path}.{name}" if pair.nnx_path else name


def in_nnx_layout(pairs_: list[Pair], arrays_of, kind) -> dict[str, tuple[str, np.ndarray]]:
    """NNX key -> (row name 'torch.leaf:variable', array) for the variables of one kind (Param or BatchStat)."""
    out = {}
    for p in pairs_:
        have = nnx_variables(p.nnx_module)
        for k, a in p.rule.to_nnx(p.torch_module, arrays_of(p.torch_module)).items():
            if isinstance(have.get(k), kind):
                out[key(p, k)] = (f"{p.torch_name or '(root)'}:{k}", a)
    return out


def _grads(module: nn.Module) -> dict[str, np.ndarray]:
    return {k: (v.grad if v.grad is not None else torch.zeros_like(v)).detach().numpy().copy()
            for k, v in module.named_parameters()}


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


def run(torch_module: nn.Module, twin: nnx.Module, names, dtype: str, train: bool, x: torch.Tensor,
        target: torch.Tensor | None, loss: nn.Module | None, optimizer: Any, steps: int) -> dict:
    """Everything the torch model computes, already in the NNX layout; ``twin`` (a prepared NNX copy) names keys."""
    out: dict[str, Any] = {}
    t = fresh(torch_module, dtype, train)
    pairs_ = pairs(t, twin, names)
    calls: list = []
    with torch.no_grad(), torch_calls(pairs_, calls):
        out["y"] = t(x).detach().numpy().copy()
    out["calls"] = calls
    out["state"] = in_nnx_layout(pairs_, torch_arrays, nnx.BatchStat)
    if loss is None:
        return out
    with torch.enable_grad():
        t = fresh(torch_module, dtype, train)
        pairs_ = pairs(t, twin, names)
        value = loss(t(x), target)
        value.backward()
        out["loss"] = value.detach().numpy().copy()
        out["grads"] = in_nnx_layout(pairs_, _grads, nnx.Param)
        if optimizer is None:
            return out
        t = fresh(torch_module, dtype, train)
        pairs_ = pairs(t, twin, names)
        opt = _rebuild(optimizer, torch_module, t)
        try:  # translated while fresh: the Optax state starts from zero, like the rebuilt torch one
            out["tx"] = translate_optimizer(opt)
        except UnsupportedError as err:
            raise PortError(f"optimizer: {err}") from None
        out["theta0"] = in_nnx_layout(pairs_, torch_arrays, nnx.Param)
        out["steps"] = []
        for _ in range(steps):
            opt.zero_grad()
            loss(t(x), target).backward()
            opt.step()
            out["steps"].append((in_nnx_layout(pairs_, torch_arrays, nnx.Param),
                                 in_nnx_layout(pairs_, torch_arrays, nnx.BatchStat)))
    return out
