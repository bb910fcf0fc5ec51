"""The oracle: the lecture's NumPy program in float64, extended to a bias, mean squared error and Adam.

Every stage of both frameworks is held against these few lines. They follow the textbook
formulas (Adam as in Kingma & Ba, with PyTorch's and Optax's shared defaults), not either library.

Arithmetic is always float64. Parameters and Adam's moments are *stored* in the dtype they came
in, as in the frameworks: at the lecture's lr 1e-6 a float32 weight near 1 has a spacing of
1.2e-7, so every update is rounded by up to 10-20% of itself. That loss is a property of float32
training, not of an implementation; storing like the frameworks keeps it out of the comparison.

Parameters may carry a leading axis of independent runs (R, Din, Dout) over the same data: the chaos
horizon (equivalence.lecture.horizon) trains a few nudged copies of the oracle at once with the same lines.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace

import numpy as np

from netdata.problems import BETAS, EPS
from netdata.stages import LINEAR, STAGES

BETA1, BETA2 = BETAS


@dataclass(frozen=True)
class Spec:
    """What a stage computes: its loss, whether the Linear has a bias, its optimizer."""

    loss: str  # "half_sse": 0.5 * sum((y_pred - y)^2); "mse": mean((y_pred - y)^2)
    bias: bool
    optimizer: str  # "sgd" or "adam"


SPECS = {name: Spec(STAGES[name].loss, STAGES[name].bias, STAGES[name].optimizer) for name in LINEAR}


@dataclass
class Trainer:
    spec: Spec
    params: dict[str, np.ndarray]
    lr: float
    storage: np.dtype
    mu: dict[str, np.ndarray] = field(default_factory=dict)
    nu: dict[str, np.ndarray] = field(default_factory=dict)
    step: int = 0
    grad_scale: dict[str, np.ndarray] | None = None  # set to {} to have the gradient's rounding scale kept here
    sensitivity: dict[str, np.ndarray] | None = None  # the step's: what a rounding of the gradient moves


def as_f64(a) -> np.ndarray:
    return np.array(a, dtype=np.float64)  # a copy: the oracle never aliases its inputs


def build(spec: Spec, weights: dict[str, np.ndarray], lr: float) -> Trainer:
    names = ("w", "b") if spec.bias else ("w",)
    params = {k: as_f64(weights[k]) for k in names}
    t = Trainer(spec, params, float(lr), np.dtype(weights["w"].dtype))
    if spec.optimizer == "adam":
        t.step = int(weights.get("adam.step", 0))
        for k in names:
            zeros = np.zeros_like(params[k])
            t.mu[k] = as_f64(weights[f"adam.mu.{k}"]) if t.step else zeros
            t.nu[k] = as_f64(weights[f"adam.nu.{k}"]) if t.step else zeros.copy()
    return t


def predict(t: Trainer, x: np.ndarray) -> np.ndarray:
    y_pred = as_f64(x) @ t.params["w"]  # (..., N, Dout)
    return y_pred + t.params["b"][..., None, :] if t.spec.bias else y_pred


def loss_and_grads(t: Trainer, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    x, y = as_f64(x), as_f64(y)
    diff = predict(t, x) - y  # (..., N, Dout)
    if t.spec.loss == "half_sse":
        loss, grad_y_pred = 0.5 * np.sum(diff**2, axis=(-2, -1)), diff
    else:
        loss, grad_y_pred = np.mean(diff**2, axis=(-2, -1)), 2.0 * diff / (diff.shape[-2] * diff.shape[-1])
    grads = {"w": x.T @ grad_y_pred}  # (..., Din, Dout)
    if t.spec.bias:
        grads["b"] = grad_y_pred.sum(axis=-2)  # (..., Dout)
    if t.grad_scale is not None:  # the same sums over absolute values: what a rounding of each is relative to
        diff_abs = np.abs(x) @ np.abs(t.params["w"]) + np.abs(y)
        diff_abs = diff_abs + np.abs(t.params["b"])[..., None, :] if t.spec.bias else diff_abs
        factor = 1.0 if t.spec.loss == "half_sse" else 2.0 / (diff.shape[-2] * diff.shape[-1])
        t.grad_scale = {"w": np.abs(x).T @ diff_abs * factor}
        if t.spec.bias:
            t.grad_scale["b"] = diff_abs.sum(axis=-2) * factor
    return np.asarray(loss), grads


def store(t, a: np.ndarray) -> np.ndarray:
    """Round to the storage dtype (a no-op for float64), then keep computing in float64."""
    return a if t.storage == np.float64 else a.astype(t.storage).astype(np.float64)


def per_run(c, a: np.ndarray):
    """A scalar as it is; a (R,) value per run shaped to broadcast against a's leading runs axis."""
    return c if np.ndim(c) == 0 else np.reshape(c, np.shape(c) + (1,) * (a.ndim - np.ndim(c)))


def adam_step(t, grads: dict[str, np.ndarray]) -> None:
    """Adam (Kingma & Ba) on any trainer with params, mu, nu, step, lr and storage: shared with the MLP.

    `t.step` is an int, or an int array (R,) when each run on the leading axis is at its own step
    (equivalence.lecture.defect steps every recorded state of a run at once)."""
    t.step = t.step + 1  # not +=: an array of steps may be the caller's
    for k, g in grads.items():
        t.mu[k] = store(t, BETA1 * t.mu[k] + (1 - BETA1) * g)
        t.nu[k] = store(t, BETA2 * t.nu[k] + (1 - BETA2) * g * g)
        c1, c2 = per_run(1 - BETA1**t.step, g), per_run(1 - BETA2**t.step, g)
        mu_hat, nu_hat = t.mu[k] / c1, t.nu[k] / c2
        t.params[k] = store(t, t.params[k] - t.lr * mu_hat / (np.sqrt(nu_hat) + EPS))
        if getattr(t, "grad_scale", None):
            adam_sensitivity(t, k, g, t.grad_scale[k], mu_hat, nu_hat, c1, c2)


def adam_sensitivity(t, k: str, g, scale, mu_hat, nu_hat, c1, c2) -> None:
    """First order: how far a rounding of size `scale` in the gradient g moves each array of Adam's step.

    Through mu by (1 - b1); through nu by 2 (1 - b2) |g|; through the update by lr |d(mu_hat / (sqrt(nu_hat) + eps)) / dg|,
    which is large where sqrt(nu_hat) is small: Adam divides a gradient made of rounding by its own size."""
    root = np.sqrt(nu_hat)
    with np.errstate(divide="ignore", invalid="ignore"):
        via_nu = np.where(root > 0, np.abs(mu_hat) * (1 - BETA2) * np.abs(g) / (c2 * root * (root + EPS) ** 2), 0.0)
    t.sensitivity = (t.sensitivity or {}) | {
        k: t.lr * ((1 - BETA1) / c1 / (root + EPS) + via_nu) * scale,
        f"adam.mu.{k}": (1 - BETA1) * scale, f"adam.nu.{k}": 2 * (1 - BETA2) * np.abs(g) * scale}


def export_adam(t) -> dict[str, np.ndarray]:
    out = {f"adam.mu.{k}": v for k, v in t.mu.items()} | {f"adam.nu.{k}": v for k, v in t.nu.items()}
    return out | {"adam.step": np.asarray(t.step, dtype=np.int64)}


def train_step(t: Trainer, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    loss, grads = loss_and_grads(t, x, y)
    if t.spec.optimizer == "sgd":
        for k, g in grads.items():
            t.params[k] = store(t, t.params[k] - t.lr * g)
        if t.grad_scale:
            t.sensitivity = {k: t.lr * s for k, s in t.grad_scale.items()}
    else:
        adam_step(t, grads)
    return loss


def train(t: Trainer, xs: np.ndarray, ys: np.ndarray) -> tuple[Trainer, np.ndarray]:
    return t, np.array([train_step(t, x, y) for x, y in zip(xs, ys)])


def export(t: Trainer) -> dict[str, np.ndarray]:
    out = dict(t.params)
    if t.spec.optimizer == "adam":
        out |= export_adam(t)
    return out


def stage(name: str) -> SimpleNamespace:
    """The reference for one stage, with the same function names as torchnet/jaxnet stage modules."""
    spec = SPECS[name]
    return SimpleNamespace(
        build=lambda weights, lr, device=None: build(spec, weights, lr),
        predict=predict, loss_and_grads=loss_and_grads, train=train, export=export, spec=spec,
    )
