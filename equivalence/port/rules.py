"""The registry of layer rules: how one torch layer's tensors and outputs map onto its NNX twin's."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

Arrays = dict[str, np.ndarray]


def identity(y: np.ndarray, module: Any = None) -> np.ndarray:
    return y


def channels_last(y: np.ndarray, module: Any = None) -> np.ndarray:
    """Torch's (N, C, *spatial) as NNX's (N, *spatial, C); unbatched and 2-D arrays stay."""
    return np.moveaxis(y, 1, -1) if y.ndim > 2 else y


def channels_first(y: np.ndarray, module: Any = None) -> np.ndarray:
    return np.moveaxis(y, -1, 1) if y.ndim > 2 else y


def first(out: Any) -> Any:
    """A layer's main array: the first element of a tuple or list (attention returns (output, weights))."""
    return out[0] if isinstance(out, (tuple, list)) and out else out


@dataclass(frozen=True)
class Rule:
    """One torch layer type and its NNX partner.

    ``to_nnx(module, tensors)`` turns the torch leaf's own parameters and buffers (local names, as
    NumPy) into NNX variables (dotted attribute paths under the NNX leaf); ``to_torch`` is its inverse.
    ``output`` / ``input`` bring a torch activation into the NNX layout; ``pick`` chooses the array
    from a layer's return value. ``accepts(module)`` narrows ``torch_types`` (HF classes by their
    attributes); ``composite=True`` keeps the module's children paired and checked on their own (the
    rule then converts only the module's own tensors); ``reshape=True`` lets tensors and activations
    take the NNX shape when only the grouping of axes differs (a Linear against einsum heads).
    """

    name: str
    torch_types: tuple[type, ...]
    nnx_types: tuple[type, ...]
    to_nnx: Callable[[Any, Arrays], Arrays]
    to_torch: Callable[[Any, Arrays], Arrays]
    output: Callable[[np.ndarray, Any], np.ndarray] = identity
    input: Callable[[np.ndarray, Any], np.ndarray] = identity
    pick: Callable[[Any], Any] = first
    accepts: Callable[[Any], bool] | None = None
    composite: bool = False
    reshape: bool = False

    def matches(self, torch_module) -> bool:
        if not isinstance(torch_module, self.torch_types):
            return False
        try:
            return self.accepts is None or bool(self.accepts(torch_module))
        except Exception:  # noqa: BLE001 - a predicate that cannot read a foreign class does not match it
            return False

    def fits(self, torch_module, nnx_module) -> bool:
        return self.matches(torch_module) and isinstance(nnx_module, self.nnx_types)

    def distance(self, nnx_module) -> int:
        """How specific this rule is for the partner: the MRO distance of its closest NNX type."""
        mro = type(nnx_module).__mro__
        return min((mro.index(t) for t in self.nnx_types if t in mro), default=len(mro))


RULES: list[Rule] = []


def register(rule: Rule) -> Rule:
    """Add a rule (yours win: later rules are tried first). Returns it, so it can decorate a table."""
    RULES.insert(0, rule)
    return rule


def candidates(torch_module) -> list[Rule]:
    """Every rule for this torch module, the most recently registered first."""
    return [r for r in RULES if r.matches(torch_module)]


def rule_for(torch_module) -> Rule | None:
    """The first rule for this torch module's type; None if none."""
    found = candidates(torch_module)
    return found[0] if found else None


def choose(torch_module, nnx_module) -> Rule | None:
    """The rule for this pair: among those that fit both, the most specific NNX type; then the newest."""
    fitting = [r for r in candidates(torch_module) if isinstance(nnx_module, r.nnx_types)]
    return min(fitting, key=lambda r: r.distance(nnx_module)) if fitting else None


def fit_shape(a: np.ndarray, shape: tuple, lead: bool = True) -> np.ndarray | None:
    """``a`` in ``shape`` when equal, or when only the grouping of axes differs (``lead``: the leading axes
    agree, as for activations (N, L, E) and (N, L, heads, head_dim)); else None."""
    shape = tuple(int(s) for s in shape)
    if tuple(a.shape) == shape:
        return a
    if a.size != int(np.prod(shape, dtype=np.int64)):
        return None
    k = min(a.ndim, len(shape)) - 1
    if not lead or k <= 0 or tuple(a.shape[:k]) == shape[:k]:
        return a.reshape(shape)
    return None


class scoped_rules:
    """Rules given to one call (``compare(..., rules=[...])``): registered for its duration, then removed."""

    def __init__(self, rules: list[Rule] | None):
        self.rules = list(rules or [])
        for r in self.rules:
            if not isinstance(r, Rule):
                from .errors import PortError
                raise PortError(f"rules: {r!r} is not a port.Rule; build one with port.Rule(name, (TorchType,), "
                                "(NnxType,), to_nnx, to_torch).")

    def __enter__(self):
        for r in reversed(self.rules):
            register(r)
        return self

    def __exit__(self, *exc):
        for r in self.rules:
            if r in RULES:
                RULES.remove(r)
        return False
