"""The registry of layer rules: how one torch layer's tensors and outputs map onto its NNX twin's."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

Arrays = dict[str, np.ndarray]


def identity(y: np.ndarray, module: Any = None) -> np.ndarray:
    return y


def channels_last(y: np.ndarray, module: Any = None) -> np.ndarray:
    """Torch's (N, C, *spatial) as NNX's (N, *spatial, C); unbatched and 2-D arrays stay."""
    return np.moveaxis(y, 1, -1) if y.ndim > 2 else y


def channels_first(y: np.ndarray, module: Any = None) -> np.ndarray:
    return np.moveaxis(y, -1, 1) if y.ndim > 2 else y


@dataclass(frozen=True)
class Rule:
    """One torch layer type and its NNX partner.

    ``to_nnx(module, tensors)`` turns the torch leaf's parameters and buffers (local names, as NumPy)
    into NNX variables (dotted attribute paths under the NNX leaf); ``to_torch`` is its inverse.
    ``output`` / ``input`` bring a torch activation into the NNX layout; ``pick`` chooses the array
    from a layer's return value (MultiheadAttention and LSTM return tuples).
    """

    name: str
    torch_types: tuple[type, ...]
    nnx_types: tuple[type, ...]
    to_nnx: Callable[[Any, Arrays], Arrays]
    to_torch: Callable[[Any, Arrays], Arrays]
    output: Callable[[np.ndarray, Any], np.ndarray] = identity
    input: Callable[[np.ndarray, Any], np.ndarray] = identity
    pick: Callable[[Any], Any] = field(default=lambda out: out)

    def fits(self, torch_module, nnx_module) -> bool:
        return isinstance(torch_module, self.torch_types) and isinstance(nnx_module, self.nnx_types)


RULES: list[Rule] = []


def register(rule: Rule) -> Rule:
    """Add a rule (yours win: later rules are tried first). Returns it, so it can decorate a table."""
    RULES.insert(0, rule)
    return rule


def rule_for(torch_module) -> Rule | None:
    """The rule for this torch module's type, the most recently registered first; None if none."""
    for rule in RULES:
        if isinstance(torch_module, rule.torch_types):
            return rule
    return None
