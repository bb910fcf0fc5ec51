"""The oracle of the mlp stage: Linear-ReLU-...-Linear, softmax cross-entropy and Adam, in float64 NumPy.

Backpropagation is written out by hand, layer by layer, as in the lecture's first program; Adam and
the "store in the dtype it came in" rounding are exactly those of `equivalence.lecture.reference`.

ReLU's derivative at exactly 0 is taken as 0, as both torch (threshold_backward) and jax.nn.relu
(a custom JVP: where(x > 0, g, 0)) do; with continuous data a pre-activation of exactly 0 is rare,
but a constant or zero start makes it common, so the choice must match.

Like `equivalence.lecture.reference`, parameters may carry a leading axis of runs; the last step's
pre-activations are kept on the trainer so the horizon can name a ReLU unit whose branch flipped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace

import numpy as np

from equivalence.lecture.reference import adam_step, as_f64, export_adam
from netdata.init import mlp_sizes

NEAR_ZERO = 4  # ulps per summed term within which a ReLU input may round to either side of 0


@dataclass
class Trainer:
    params: dict[str, np.ndarray]  # layers.i.w (in, out), layers.i.b (out,), all float64
    depth: int
    lr: float
    storage: np.dtype
    mu: dict[str, np.ndarray] = field(default_factory=dict)
    nu: dict[str, np.ndarray] = field(default_factory=dict)
    step: int = 0
    pre_activations: list[np.ndarray] = field(default_factory=list)  # the last forward's hidden z_i
    grad_scale: dict[str, np.ndarray] | None = None  # set to {} to have the gradient's rounding scale kept here
    sensitivity: dict[str, np.ndarray] | None = None  # the step's: what a rounding of the gradient moves


def build(weights: dict[str, np.ndarray], lr: float, device=None) -> Trainer:
    depth = len(mlp_sizes(weights)) - 1
    names = [f"layers.{i}.{k}" for i in range(depth) for k in ("w", "b")]
    t = Trainer({k: as_f64(weights[k]) for k in names}, depth, float(lr), np.dtype(weights["layers.0.w"].dtype))
    t.step = int(weights.get("adam.step", 0))
    for k in names:
        t.mu[k] = as_f64(weights[f"adam.mu.{k}"]) if t.step else np.zeros_like(t.params[k])
        t.nu[k] = as_f64(weights[f"adam.nu.{k}"]) if t.step else np.zeros_like(t.params[k])
    return t


def _forward(t: Trainer, x: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Every layer's input h_i and pre-activation z_i = h_i @ w_i + b_i; z_last are the logits."""
    hs, zs = [as_f64(x)], []
    for i in range(t.depth):
        zs.append(hs[-1] @ t.params[f"layers.{i}.w"] + t.params[f"layers.{i}.b"][..., None, :])  # (..., N, out_i)
        if i < t.depth - 1:
            hs.append(np.maximum(zs[-1], 0.0))
    return hs, zs


def predict(t: Trainer, x: np.ndarray) -> np.ndarray:
    return _forward(t, x)[1][-1]  # (N, C) logits


def loss_and_grads(t: Trainer, x: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    hs, zs = _forward(t, x)
    t.pre_activations = zs[:-1]
    logits, labels = zs[-1], np.asarray(labels, dtype=np.int64)  # (..., N, C), (N,)
    n, rows = logits.shape[-2], np.arange(logits.shape[-2])
    shifted = logits - logits.max(axis=-1, keepdims=True)  # exp never overflows; softmax is unchanged
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))  # (..., N, C)
    loss = -np.mean(log_probs[..., rows, labels], axis=-1)
    grad_z = np.exp(log_probs)  # d loss / d logits = (softmax - one_hot) / N
    grad_z[..., rows, labels] -= 1.0
    grad_z /= n
    grads = {}
    for i in reversed(range(t.depth)):
        grads[f"layers.{i}.w"] = np.swapaxes(hs[i], -1, -2) @ grad_z  # (..., in_i, out_i)
        grads[f"layers.{i}.b"] = grad_z.sum(axis=-2)  # (..., out_i)
        if i > 0:  # through the Linear, then through the ReLU that made hs[i]: 0 where z <= 0
            grad_z = (grad_z @ np.swapaxes(t.params[f"layers.{i}.w"], -1, -2)) * (zs[i - 1] > 0)
    if t.grad_scale is not None:
        t.grad_scale = _grad_scale(t, hs, zs, np.exp(log_probs), labels)
    return np.asarray(loss), {k: grads[k] for k in t.params}


def _grad_scale(t: Trainer, hs: list[np.ndarray], zs: list[np.ndarray], probs: np.ndarray,
                labels: np.ndarray) -> dict[str, np.ndarray]:
    """Backpropagation over absolute values: softmax + one_hot for softmax - one_hot (the cancellation near a
    confident prediction), |h| and |w| for every product: what a rounding of each gradient is relative to."""
    n, rows = probs.shape[-2], np.arange(probs.shape[-2])
    d = probs.copy()
    d[..., rows, labels] += 1.0
    d /= n
    h_abs, through, out = [np.abs(hs[0])], [], {}
    eps = np.finfo(t.storage).eps
    for i in range(t.depth - 1):
        w = t.params[f"layers.{i}.w"]
        z_abs = h_abs[-1] @ np.abs(w) + np.abs(t.params[f"layers.{i}.b"])[..., None, :]
        # A ReLU input within rounding of 0 may take either branch in a correct program: its whole share counts
        # (1/eps: the scale is multiplied by eps in the defect's unit). NEAR_ZERO ulps per term summed into z.
        near = np.abs(zs[i]) <= NEAR_ZERO * (w.shape[-2] + 1) * eps * z_abs
        through.append(np.where(near, 1.0 / eps, (zs[i] > 0).astype(np.float64)))
        h_abs.append(z_abs * (zs[i] > 0))
    for i in reversed(range(t.depth)):
        out[f"layers.{i}.w"] = np.swapaxes(h_abs[i], -1, -2) @ d
        out[f"layers.{i}.b"] = d.sum(axis=-2)
        if i > 0:
            d = (d @ np.swapaxes(np.abs(t.params[f"layers.{i}.w"]), -1, -2)) * through[i - 1]
    return out


def train_step(t: Trainer, x: np.ndarray, labels: np.ndarray) -> np.ndarray:
    loss, grads = loss_and_grads(t, x, labels)
    adam_step(t, grads)
    return loss


def train(t: Trainer, xs: np.ndarray, ys: np.ndarray) -> tuple[Trainer, np.ndarray]:
    return t, np.array([train_step(t, x, y) for x, y in zip(xs, ys)])


def export(t: Trainer) -> dict[str, np.ndarray]:
    return dict(t.params) | export_adam(t)


def stage() -> SimpleNamespace:
    """The reference with the same function names as torchnet.mlp / jaxnet.mlp."""
    return SimpleNamespace(build=build, predict=predict, loss_and_grads=loss_and_grads, train=train, export=export)
