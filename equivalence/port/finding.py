"""One lint finding: a setting that differs between a torch layer and its NNX twin, with the fix."""

from __future__ import annotations

from typing import Any, NamedTuple


class Finding(NamedTuple):
    path: str  # the torch name
    option: str
    torch: Any
    flax: Any
    fix: str
    train_only: bool = False  # matters only when training (running statistics): not a bug of an inference port

    def __str__(self) -> str:
        label = " (train only)" if self.train_only else ""
        return (f"{self.path or '(root)'}: {self.option}{label}: torch {self.torch!r}, flax {self.flax!r}; "
                f"fix: {self.fix}")
