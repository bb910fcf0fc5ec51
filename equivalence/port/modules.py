"""Both sides' modules and tensors by dotted path, less the parts that belong to a deeper pair."""

from __future__ import annotations

from flax import nnx
from torch import nn


def nnx_modules(model: nnx.Module) -> dict[str, nnx.Module]:
    """Every NNX submodule by dotted path (the root is '')."""
    return {".".join(str(p) for p in path): node for path, node in nnx.iter_graph(model)
            if isinstance(node, nnx.Module)}


def nnx_own_variables(module: nnx.Module, skip=()) -> dict:
    """A module's parameters and batch statistics by dotted path, less those under ``skip`` paths."""
    out = {}
    for path, v in nnx.iter_graph(module):
        key = ".".join(str(p) for p in path)
        if isinstance(v, (nnx.Param, nnx.BatchStat)) and not _under(key, skip):
            out[key] = v
    return out


def torch_own_tensors(module: nn.Module, skip=()) -> dict:
    out = dict(module.named_parameters())
    out.update({k: b for k, b in module.named_buffers() if b is not None})
    return {k: v for k, v in out.items() if not _under(k, skip)}


def _under(path: str, prefixes) -> bool:
    return any(p == "" or path == p or path.startswith(p + ".") for p in prefixes)


def _relative(path: str, root: str) -> str:
    return path[len(root) + 1:] if root and path.startswith(root + ".") else path if not root else ""
