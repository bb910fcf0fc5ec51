"""Canonical weights and Adam state <-> PyTorch's `nn.Linear` (weight = w.T) and `exp_avg`/`exp_avg_sq`."""

from __future__ import annotations

import numpy as np
import torch

from torchnet.device import numpy, tensor


def load_linear(linear: torch.nn.Linear, weights: dict[str, np.ndarray]) -> None:
    """Copy canonical `w` (Din, Dout) and `b` (Dout,) into a Linear: PyTorch keeps w.T."""
    with torch.no_grad():
        linear.weight.copy_(tensor(weights["w"].T))  # (Dout, Din)
        linear.bias.copy_(tensor(weights["b"]))


def export_linear(linear: torch.nn.Linear) -> dict[str, np.ndarray]:
    return {"w": numpy(linear.weight.T), "b": numpy(linear.bias)}


def linear_grads(linear: torch.nn.Linear) -> dict[str, torch.Tensor]:
    """Gradients in the canonical layout: d loss / d w is weight.grad transposed."""
    return {"w": linear.weight.grad.T, "b": linear.bias.grad}


def named(linear: torch.nn.Linear, prefix: str = "") -> dict[str, tuple[torch.Tensor, bool]]:
    """A Linear's parameters by canonical name, each with whether PyTorch stores it transposed."""
    return {f"{prefix}w": (linear.weight, True), f"{prefix}b": (linear.bias, False)}


def export_adam(optimizer: torch.optim.Adam, linear: torch.nn.Linear) -> dict[str, np.ndarray]:
    """Adam's moments as `adam.mu.<name>` / `adam.nu.<name>` and its step count as `adam.step`."""
    return export_adam_params(optimizer, named(linear))


def load_adam(optimizer: torch.optim.Adam, linear: torch.nn.Linear, state: dict[str, np.ndarray]) -> None:
    """Resume Adam from canonical state; a fresh optimizer when the state has no `adam.step`."""
    load_adam_params(optimizer, named(linear), state)


def export_adam_params(optimizer: torch.optim.Adam,
                       params: dict[str, tuple[torch.Tensor, bool]]) -> dict[str, np.ndarray]:
    """`export_adam` for any parameters: {canonical name: (parameter, stored transposed)}."""
    out: dict[str, np.ndarray] = {}
    for name, (param, transposed) in params.items():
        state = optimizer.state.get(param)
        if not state:  # before the first step PyTorch has no state at all; Optax has zeros
            mu = nu = np.zeros_like(numpy(param.T if transposed else param))
            step = 0
        else:
            mu, nu = numpy(state["exp_avg"]), numpy(state["exp_avg_sq"])
            mu, nu = (mu.T, nu.T) if transposed else (mu, nu)
            step = int(state["step"])
        out[f"adam.mu.{name}"], out[f"adam.nu.{name}"] = mu, nu
        out["adam.step"] = np.asarray(step, dtype=np.int64)
    return out


def load_adam_params(optimizer: torch.optim.Adam, params: dict[str, tuple[torch.Tensor, bool]],
                     state: dict[str, np.ndarray]) -> None:
    """`load_adam` for any parameters: {canonical name: (parameter, stored transposed)}."""
    if int(state.get("adam.step", 0)) == 0:
        return
    for name, (param, transposed) in params.items():
        mu, nu = state[f"adam.mu.{name}"], state[f"adam.nu.{name}"]
        mu, nu = (mu.T, nu.T) if transposed else (mu, nu)
        optimizer.state[param] = {
            # PyTorch keeps the step as a float tensor (float32 unless the default dtype is float64).
            "step": torch.tensor(float(state["adam.step"]), dtype=torch.get_default_dtype()),
            "exp_avg": tensor(mu, param.device).to(param.dtype).clone(),
            "exp_avg_sq": tensor(nu, param.device).to(param.dtype).clone(),
        }
