"""Torch's side of a comparison: a training run, and the same run nudged by 1e-15 for the horizon."""

from __future__ import annotations

import contextlib
from typing import Callable, NamedTuple

import numpy as np
import torch

from .displacement import NUDGE, displacement_errors, flat, horizon


def objective(p, x, y, sign):
    """Least squares on a fresh minibatch; works for torch tensors and jax arrays alike."""
    residual = x @ p["w"] + p["b"] + p["s"] - y
    return sign * (residual**2).mean()


class TorchRun(NamedTuple):
    trajectory: np.ndarray  # (steps, n): parameters after each step, sorted by name, flattened
    lrs: np.ndarray  # (steps, groups): the lr each optimizer.step() used
    norms: np.ndarray  # clip_grad_norm_'s returned total norms (empty without clipping)


def leaves(init: dict) -> dict:
    """Fresh float64 leaf tensors holding ``init``'s arrays (what ``make`` receives)."""
    return {k: torch.tensor(v, requires_grad=True) for k, v in init.items()}


def sign_of(opt) -> float:
    """-1.0 when the optimizer maximizes: the objective is negated so both runs descend the same loss."""
    return -1.0 if opt.param_groups[0].get("maximize") else 1.0


def gradients(params: dict, x, y, sign: float) -> None:
    """Set each ``.grad`` to the gradient of :func:`objective`, in closed form.

    Autograd's bookkeeping costs more than the arithmetic at this size; the
    JAX side differentiates the same objective with jax.grad.
    """
    residual = x @ params["w"].detach() + params["b"].detach() + params["s"].detach() - y
    scale = sign * 2.0 / residual.numel()
    gb = scale * residual.sum(0)
    params["w"].grad = scale * (x.T @ residual)
    params["b"].grad = gb
    params["s"].grad = gb.sum(0, keepdim=True)


@contextlib.contextmanager
def one_thread():
    """Torch on one intra-op thread, restored on exit: on a busy machine its idle
    threads spin, and the fused CPU kernels cost 8x more CPU with two."""
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(old)


def torch_steps(opt, sched, params: dict, xs, ys, clip=None) -> TorchRun:
    """Step ``opt`` (and ``sched``) once per minibatch of ``xs, ys``, recording every step."""
    names = sorted(params)
    sign = sign_of(opt)
    traj, lrs, norms = [], [], []
    xs_t, ys_t = torch.from_numpy(np.asarray(xs)), torch.from_numpy(np.asarray(ys))
    for k in range(len(xs)):
        gradients(params, xs_t[k], ys_t[k], sign)
        if clip is not None:
            norms.append(float(torch.nn.utils.clip_grad_norm_(list(params.values()), clip[0], clip[1])))
        lrs.append([float(g["lr"]) for g in opt.param_groups])
        opt.step()
        if sched is not None:
            sched.step()
        traj.append(torch.cat([params[n].detach().reshape(-1) for n in names]).numpy().copy())
    return TorchRun(np.stack(traj), np.asarray(lrs), np.asarray(norms))


def nudged_horizon(make: Callable[[dict], tuple], init: dict, xs, ys, clip, trajectory: np.ndarray) -> int:
    """How many leading steps torch's run reproduces itself from a start nudged by 1e-15 (relative)."""
    nudged = {k: np.asarray(v) * (1.0 + NUDGE) for k, v in init.items()}
    params = leaves(nudged)
    opt, sched = make(params)
    other = torch_steps(opt, sched, params, xs, ys, clip).trajectory
    names = sorted(init)
    errors = displacement_errors(trajectory, other, flat([init[n] for n in names]), flat([nudged[n] for n in names]))
    return horizon(errors)
