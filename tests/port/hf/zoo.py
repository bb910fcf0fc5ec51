"""The families of the Hugging Face zoo by name, each Case built once per process."""

from __future__ import annotations

import functools
import importlib

from .cases import Case

FAMILIES = ("bert", "qwen3", "vit", "resnet", "gpt2", "convnext")


@functools.lru_cache(maxsize=None)
def case(name: str, package: str = __package__) -> Case:
    """The Case of one family (a module of ``package`` with a ``case()`` function)."""
    return importlib.import_module(f"{package}.{name}").case()
