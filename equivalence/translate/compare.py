"""Run torch and its translation side by side in float64 and measure how far apart they end up."""

from __future__ import annotations

import contextlib
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
import torch

from jaxnet.compiling import fast_jit
from .displacement import displacement_errors, flat, stack, within_horizon
from .losses import loss as translate_loss
from .optimizers import optimizer as translate_optimizer
from .schedules import group_schedules
from .torchrun import leaves, nudged_horizon, objective, one_thread, sign_of, torch_steps
from .transforms import clip_grad_norm

SHAPES = {"w": (4, 3), "b": (3,), "s": (1,)}
BATCH = 8


@contextlib.contextmanager
def float64():
    """float64 on both sides, restored on exit.

    Torch's default dtype matters beyond the tensors we create: optimizers
    keep scalar state such as NAdam's ``mu_product`` in float32 unless the
    default dtype is float64.
    """
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        with jax.enable_x64(True), jax.default_matmul_precision("highest"):
            yield
    finally:
        torch.set_default_dtype(old)


def rel_err(reference, other) -> float:
    """||reference - other|| / ||reference|| over all entries of (nested lists of) arrays.

    Falls back to the absolute difference when the reference is all zeros;
    NaN anywhere gives NaN, which fails every ``<=`` bound.
    """
    a, b = flat(reference), flat(other)
    if a.shape != b.shape:
        raise ValueError(f"cannot compare {a.shape} entries with {b.shape}")
    scale = np.linalg.norm(a)
    diff = np.linalg.norm(a - b)
    if scale == 0:
        return float(diff)
    return float(diff / scale)


def problem(steps: int, seed: int = 0):
    """A linear regression with a fresh minibatch per step.

    A new batch every step keeps the gradients of order one for all steps:
    on a single batch the normalising optimizers would reach the minimum,
    where gradients are rounding noise and any two implementations diverge.
    """
    rng = np.random.default_rng(seed)
    w_true = rng.normal(size=(4, 3))
    xs = rng.normal(size=(steps, BATCH, 4))
    ys = xs @ w_true + 0.5 * rng.normal(size=(steps, BATCH, 3))
    init = {k: rng.normal(size=shape) for k, shape in SHAPES.items()}
    return xs, ys, init


_gradient = fast_jit(jax.grad(objective), static_argnums=3)


class Trajectories(NamedTuple):
    """Both runs of one configuration, flattened to (steps, n) float64, and torch's horizon."""

    torch: np.ndarray  # per step, all parameters (sorted by name), flattened
    jax: np.ndarray
    start: np.ndarray  # the common starting point, flattened
    horizon: int  # leading steps over which torch's nudged run agrees with itself to 1e-11
    torch_lrs: np.ndarray  # (steps, groups): lr used by each optimizer.step()
    jax_lrs: np.ndarray | None  # same, from the translated schedule (None without scheduler)
    grad_norms: np.ndarray  # total norms clip_grad_norm_ returned (empty without clipping)
    defects: np.ndarray | None = None  # (steps,) per step: the translation's step from torch's state, in ulps

    @property
    def defect(self) -> float:
        """The worst per-step defect: ||theta_torch[k+1] - step(theta_torch[k])|| / (eps ||theta_torch[k+1]||),
        the translation's optimizer state fed the gradients at torch's own parameters (so it holds torch's
        state), over the whole run: chaos cannot part two runs that restart from the same state every step."""
        return float(np.max(self.defects, initial=0.0)) if self.defects is not None else float("nan")

    @property
    def errors(self) -> np.ndarray:
        """Per step: the error relative to the distance torch's parameters moved."""
        return displacement_errors(self.torch, self.jax, self.start)

    @property
    def rel_err(self) -> float:
        """The worst displacement-relative error within the horizon (NaN if too short to judge)."""
        return within_horizon(self.errors, self.horizon)

    @property
    def param_rel_err(self) -> float:
        """The old measure, ``||theta_torch - theta_jax|| / ||theta_torch||``: blind to small updates."""
        return rel_err(self.torch, self.jax)

    @property
    def lr_rel_err(self) -> float:
        return 0.0 if self.jax_lrs is None else rel_err([self.torch_lrs], [self.jax_lrs])


def run_optimizer(
    make: Callable[[dict], tuple],
    *,
    steps: int = 200,
    labels: dict | None = None,
    clip: tuple[float, float] | None = None,
    seed: int = 0,
    tx: optax.GradientTransformation | None = None,
) -> Trajectories:
    """Train the same regression with torch, with torch nudged, and with the translation.

    ``make(params)`` receives a dict of float64 leaf tensors (keys of
    ``SHAPES``) and returns ``(optimizer, scheduler_or_None)``; it is called
    twice (the second time on a start nudged by 1e-15, for the horizon).
    ``clip`` is ``(max_norm, norm_type)`` for ``clip_grad_norm_``. ``tx``
    replaces the whole translation, clipping included (to show that a naive
    Optax equivalent does *not* match). Runs in float64 on both sides
    (:func:`float64`).
    """
    with float64(), one_thread():
        return _run_optimizer(make, steps, labels, clip, seed, tx)


def _run_optimizer(make, steps, labels, clip, seed, tx) -> Trajectories:
    xs, ys, init = problem(steps, seed)
    params = leaves(init)
    opt, sched = make(params)
    sign = sign_of(opt)
    if tx is None:
        tx = translate_optimizer(opt, sched, param_labels=labels)
        if clip is not None:
            tx = optax.chain(clip_grad_norm(*clip), tx)
    jax_lrs = None
    if sched is not None:
        schedules = group_schedules(sched, opt)
        lrs = fast_jit(jax.vmap(lambda c: jnp.stack([s.lr(c) for s in schedules])))
        jax_lrs = np.asarray(lrs(jnp.arange(steps)))
    run = torch_steps(opt, sched, params, xs, ys, clip)
    reach = nudged_horizon(make, init, xs, ys, clip, run.trajectory)

    # Compilation dominates at this size. The gradient is jitted once per
    # process (_gradient) and only the transformation per case; a jitted step
    # in a Python loop also compiles faster than lax.scan over the steps.
    @fast_jit
    def step(p, state, g):
        updates, state = tx.update(g, state, p)
        return optax.apply_updates(p, updates), state

    names = sorted(init)
    p = {k: jnp.asarray(v) for k, v in init.items()}
    state = tx.init(p)
    jax_traj = []
    for k in range(steps):
        p, state = step(p, state, _gradient(p, xs[k], ys[k], sign))
        jax_traj.append(p)
    jax_traj = stack([[q[n] for n in names] for q in jax.device_get(jax_traj)])
    start = flat([init[n] for n in names])
    defects = _step_defects(step, tx, names, init, run.trajectory, xs, ys, sign)
    return Trajectories(run.trajectory, jax_traj, start, reach, run.lrs, jax_lrs, run.norms, defects)


def _step_defects(step, tx, names, init, trajectory: np.ndarray, xs, ys, sign) -> np.ndarray:
    """(steps,) ulps: from each of torch's states, the translation's one step against torch's next state."""
    sizes = [int(np.prod(np.shape(init[n]))) for n in names]
    splits = np.cumsum(sizes)[:-1]

    def params(row):
        return {n: jnp.asarray(v.reshape(np.shape(init[n]))) for n, v in zip(names, np.split(row, splits))}

    states = np.concatenate([flat([init[n] for n in names])[None], trajectory])
    state = tx.init(params(states[0]))
    ours = []
    for k in range(len(trajectory)):
        p = params(states[k])
        p_next, state = step(p, state, _gradient(p, xs[k], ys[k], sign))
        ours.append(p_next)
    ours = stack([[q[n] for n in names] for q in jax.device_get(ours)])
    eps = np.finfo(np.float64).eps
    diff, scale = np.linalg.norm(ours - trajectory, axis=1), np.linalg.norm(trajectory, axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(diff == 0, 0.0, diff / (eps * scale))


class LossComparison(NamedTuple):
    value_rel_err: float
    grad_rel_err: float

    @property
    def rel_err(self) -> float:
        return max(self.value_rel_err, self.grad_rel_err)


def run_loss(module: torch.nn.Module, prediction: np.ndarray, target: np.ndarray, seed: int = 0):
    """Loss value and gradient w.r.t. the prediction, torch vs translation.

    The gradient is the vector-Jacobian product with a fixed random
    cotangent, so ``reduction='none'`` is checked element by element.
    Runs in float64 on both sides (:func:`float64`).
    """
    with float64():
        return _run_loss(module, prediction, target, seed)


def _run_loss(module, prediction, target, seed) -> LossComparison:
    fn = translate_loss(module)
    pred_t = torch.tensor(prediction, requires_grad=True)
    target_t = torch.from_numpy(np.asarray(target))
    value_t = module(pred_t, target_t)
    cotangent = np.random.default_rng(seed).normal(size=tuple(value_t.shape))
    (value_t * torch.from_numpy(cotangent)).sum().backward()

    @fast_jit  # one compilation instead of one per primitive
    def value_and_vjp(p, t):
        value, pullback = jax.vjp(lambda q: fn(q, t), p)
        return value, pullback(jnp.asarray(cotangent, value.dtype))[0]

    value_j, grad_j = value_and_vjp(jnp.asarray(prediction), jnp.asarray(target))
    return LossComparison(
        rel_err([value_t.detach().numpy()], [value_j]),
        rel_err([pred_t.grad.numpy()], [grad_j]),
    )
