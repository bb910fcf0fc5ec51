"""Typed read access to a torch optimizer's param_groups, and the checks made before translating."""

from __future__ import annotations

from typing import Any

import torch

from .errors import UnsupportedError

# Flags that choose an implementation (loop, multi-tensor, fused kernel, CUDA
# graphs, autograd-through-step) but not the arithmetic: accepted, ignored.
NEUTRAL = frozenset({"foreach", "fused", "capturable", "differentiable"})
# Keys torch itself adds to a group: the parameters, their names, and what
# schedulers store (initial_lr; OneCycleLR's lr and momentum bounds).
BOOKKEEPING = frozenset(
    {"params", "param_names", "initial_lr", "max_lr", "min_lr", "max_momentum", "base_momentum"}
)


class Group:
    """Typed read access to one ``param_groups[i]``, naming the option on failure."""

    def __init__(self, optimizer, index: int, options: tuple[str, ...]):
        self.name = type(optimizer).__name__
        self.group = optimizer.param_groups[index]
        unknown = sorted(set(self.group) - set(options) - NEUTRAL - BOOKKEEPING)
        if unknown:
            raise UnsupportedError(
                f"{self.name} param_groups[{index}] has option {unknown[0]!r}, which the translator "
                f"does not know, so it cannot promise the same update; remove it or translate by hand."
            )
        missing = [k for k in options if k not in self.group]
        if missing:
            raise UnsupportedError(
                f"{self.name} param_groups[{index}] lacks option {missing[0]!r} "
                "(an optimizer from another torch version?); construct it with this torch."
            )

    def f(self, key: str) -> float:
        return float(self.group[key])

    def b(self, key: str) -> bool:
        return bool(self.group[key])

    def pair(self, key: str) -> tuple[float, float]:
        a, b = self.group[key]
        return float(a), float(b)

    def betas(self) -> tuple[float, float]:
        b1, b2 = self.group["betas"]
        return float(b1), float(b2)


def torch_scalar_dtype() -> str:
    """The dtype torch gives scalar optimizer state (``_get_scalar_dtype``), read at translation time.

    float64 only when torch's default dtype is float64; otherwise float32, even
    for float64 parameters. NAdam's ``mu_product`` and ASGD's ``eta`` and
    ``mu`` live in it, so the translation must round where torch rounds.
    """
    return "float64" if torch.get_default_dtype() == torch.float64 else "float32"


def check_fresh(opt) -> None:
    """Refuse optimizers that already carry state the translation would start from zero."""
    for gi, group in enumerate(opt.param_groups):
        for p in group["params"]:
            if p.is_complex():
                raise UnsupportedError(
                    f"{type(opt).__name__} param_groups[{gi}] holds a complex parameter; torch updates "
                    "its real view, which this translation does not model. Split it into real parts."
                )
            state = opt.state.get(p)
            if not state:
                continue
            # Adagrad fills its state in __init__: step 0, sum = initial value.
            fresh_adagrad = (
                type(opt) is torch.optim.Adagrad
                and set(state) == {"step", "sum"}
                and float(state["step"]) == 0
                and bool(torch.all(state["sum"] == group["initial_accumulator_value"]))
            )
            if not fresh_adagrad:
                raise UnsupportedError(
                    f"{type(opt).__name__} already has state (keys {sorted(state)}): it has been stepped "
                    "or loaded from a state_dict. Translate a freshly constructed optimizer; the Optax "
                    "state starts from zero."
                )


def canonical(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return value.tolist()
    if isinstance(value, (tuple, list)):
        return tuple(canonical(v) for v in value)
    return value


def settings(group: dict) -> dict:
    return {k: canonical(v) for k, v in group.items() if k not in ("params", "param_names")}


