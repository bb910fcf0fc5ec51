"""Torch paths onto NNX paths: `features.3` <-> `features[3]` / `layers.3`, and `names=` with `*` patterns."""

from __future__ import annotations

import re
from typing import NamedTuple

from .errors import PortError


def canonical(path: str) -> str:
    """`features[3]` and `features.layers.3` (an nnx.Sequential's list) both as `features.3`."""
    path = re.sub(r"\[(\w+)\]", r".\1", path).strip(".")
    return re.sub(r"(^|\.)layers\.(\d+)", r"\1\2", path)


class Name(NamedTuple):
    key: str  # as the user wrote it
    pattern: re.Pattern
    target: str
    stars: int


def compile_names(names: dict[str, str] | None) -> list[Name]:
    """Each entry as a prefix pattern (`*` is one path segment); exact and longer entries first."""
    out = []
    for key, target in (names or {}).items():
        if not isinstance(key, str) or not isinstance(target, str):
            raise PortError(f"names: {key!r}: {target!r} must map a torch path to an NNX path, both strings.")
        key, target = key.strip("."), target.strip(".")
        stars = key.split(".").count("*") if key else 0
        if target.split(".").count("*") > stars:
            raise PortError(f"names[{key!r}] = {target!r} has more '*' than its key; give each '*' a source.")
        body = r"\.".join("([^.]+)" if s == "*" else re.escape(s) for s in key.split(".")) if key else ""
        out.append(Name(key, re.compile(rf"^{body}(?:\.(.*))?$" if key else r"^(.*)$"), target, stars))
    return sorted(out, key=lambda n: (n.stars, -len(n.key.split("."))))


def mapped(torch_path: str, names: list[Name], used: set[str] | None = None) -> tuple[str, Name | None]:
    """The NNX path a torch path maps to: the first (most specific) entry whose key is a prefix, else itself."""
    for n in names:
        m = n.pattern.match(torch_path)
        if m is None:
            continue
        groups, rest = list(m.groups()[:n.stars]), m.groups()[n.stars] or ""
        parts = [groups.pop(0) if s == "*" and groups else s for s in n.target.split(".")] if n.target else []
        if used is not None:
            used.add(n.key)
        return ".".join(p for p in (".".join(parts), rest) if p), n
    return torch_path, None


class Lookup:
    """NNX module paths found by exact path first, then by canonical path."""

    def __init__(self, paths):
        self.paths = set(paths)
        self.by_canonical: dict[str, str] = {}
        for p in sorted(self.paths, key=len):
            self.by_canonical.setdefault(canonical(p), p)

    def __call__(self, path: str) -> str | None:
        if path in self.paths:
            return path
        return self.by_canonical.get(canonical(path))
