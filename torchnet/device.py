"""Where PyTorch tensors live and how float32 matmuls round: pinned so CPU and GPU agree."""

from __future__ import annotations

import numpy as np
import torch

from netdata.errors import InputError


def resolve(device: str = "cpu") -> torch.device:
    """'cpu' or 'gpu' (the first CUDA device); 'gpu' without one is a user error, not a crash."""
    if device == "cpu":
        return torch.device("cpu")
    if device == "gpu":
        if not torch.cuda.is_available():
            raise InputError("--device gpu: PyTorch sees no CUDA GPU here; use --device cpu")
        return torch.device("cuda", 0)
    raise InputError(f"unknown device {device!r}; use cpu or gpu")


def pin_precision() -> None:
    """Full float32 matmuls: TF32 off, so CUDA results match the CPU's (PyTorch's own default)."""
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.set_float32_matmul_precision("highest")


def tensor(a: np.ndarray, device: torch.device | str = "cpu") -> torch.Tensor:
    """A NumPy array on `device`, dtype kept (float64 stays float64)."""
    a = np.ascontiguousarray(a)
    if not a.flags.writeable:  # torch cannot share a read-only buffer: copy instead of warning
        a = a.copy()
    return torch.from_numpy(a).to(device)


def numpy(t: torch.Tensor) -> np.ndarray:
    """A copy: on the CPU .numpy() shares memory, so a later in-place update would change it."""
    return t.detach().cpu().numpy().copy()
