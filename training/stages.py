"""The stages' modules, loaded by name in this one place, and the API every stage module has in both frameworks."""

from __future__ import annotations

import importlib
from typing import Any, Protocol

import numpy as np

PACKAGES = {"jax": "jaxnet", "torch": "torchnet"}


class StageModule(Protocol):
    """What jaxnet/<stage>.py and torchnet/<stage>.py both define (tests/test_mirroring.py checks the names)."""

    def build(self, weights: dict[str, np.ndarray], lr: float, device: Any = None, **options: Any) -> Any: ...
    def predict(self, trainer: Any, x: Any) -> Any: ...
    def loss_of(self, trainer: Any, x: Any, y: Any) -> Any: ...
    def loss_and_grads(self, trainer: Any, x: Any, y: Any) -> Any: ...
    def train_step(self, trainer: Any, x: Any, y: Any) -> tuple[Any, Any]: ...
    def train(self, trainer: Any, xs: Any, ys: Any) -> tuple[Any, Any]: ...
    def export(self, trainer: Any) -> dict[str, np.ndarray]: ...
    def main(self) -> None: ...


def _package(framework: str) -> str:
    if framework not in PACKAGES:
        raise ValueError(f"framework {framework!r}: use one of {', '.join(PACKAGES)}")
    return PACKAGES[framework]


def module(framework: str, stage: str) -> StageModule:
    """`jaxnet.<stage>` or `torchnet.<stage>`: importing it imports that framework."""
    return importlib.import_module(f"{_package(framework)}.{stage}")


def backend(framework: str):
    """The class that builds, steps and exports a CLI run for `framework` (training.session.Backend)."""
    return importlib.import_module(f"{_package(framework)}.train").Backend
