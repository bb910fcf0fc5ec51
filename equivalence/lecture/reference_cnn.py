"""The oracle of the cnn stage: (Conv-BatchNorm-ReLU-MaxPool) x2, Dropout, Linear, cross-entropy, Adam, float64 NumPy.

Every layer's backward pass is written out by hand. The layouts are the canonical ones: images come in
NCHW and are taken to NHWC once, here at the top; kernels are HWIO (kh, kw, Cin, Cout); a convolution is
"same" (padding K // 2, stride 1) and computed as patches @ kernel; the Linear's inputs are flattened in
(H, W, C) order. The ties of the conventions both frameworks were reconciled to:

- BatchNorm in training normalizes with the batch's biased variance; the running statistics follow
  PyTorch's update, new = (1 - m) * old + m * batch with m = BN_MOMENTUM, the running variance taking the
  UNBIASED batch variance (n / (n - 1) times the biased one). Evaluation normalizes with the running ones.
- Max-pool sends its gradient to the first largest entry of each window in row-major order (PyTorch's
  choice; a tie of two positive values never happens with continuous data, and a tie at 0 comes from a
  ReLU whose gradient is 0 there anyway).
- Dropout multiplies the flattened features by netdata.dropout's mask of the step (Adam's step count),
  keyed by the weights' dropout.seed, in training only. `loss_and_grads` measures the weights alone:
  batch statistics, no dropout, running statistics untouched.

Parameters may carry a leading axis of runs, as in `equivalence.lecture.reference`; the running statistics are
kept among the parameters (so the chaos horizon nudges and follows them too) but Adam never moves them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace

import numpy as np

from equivalence.lecture.reference import adam_step, as_f64, export_adam, store
from netdata import dropout
from netdata.init import cnn_channels
from netdata.problems import BN_EPS, BN_MOMENTUM, CNN_DROPOUT, CNN_POOL

STATS = ("mean", "var")  # BatchNorm's running statistics: state, not trained
NEAR_ZERO = 4  # ulps per summed term within which a ReLU input may round to either side of 0


@dataclass
class Trainer:
    params: dict[str, np.ndarray]  # learned weights and running statistics, float64, maybe (R, ...)
    depth: int  # conv blocks
    lr: float
    storage: np.dtype
    seed: int  # dropout.seed
    mu: dict[str, np.ndarray] = field(default_factory=dict)
    nu: dict[str, np.ndarray] = field(default_factory=dict)
    step: int = 0
    pre_activations: list[np.ndarray] = field(default_factory=list)  # the last forward's BatchNorm outputs
    grad_scale: dict[str, np.ndarray] | None = None  # set to {} to have the gradient's rounding scale kept here
    sensitivity: dict[str, np.ndarray] | None = None  # the step's: what a rounding of the gradient moves


def build(weights: dict[str, np.ndarray], lr: float, device=None) -> Trainer:
    depth = len(cnn_channels(weights)) - 1
    learned = [f"conv.{i}.w" for i in range(depth)] + [f"bn.{i}.{k}" for i in range(depth) for k in ("scale", "bias")]
    learned += ["fc.w", "fc.b"]
    stats = [f"bn.{i}.{k}" for i in range(depth) for k in STATS]
    t = Trainer({k: as_f64(weights[k]) for k in learned + stats}, depth, float(lr),
                np.dtype(weights["conv.0.w"].dtype), int(weights.get("dropout.seed", 0)))
    t.step = int(weights.get("adam.step", 0))
    for k in learned:
        t.mu[k] = as_f64(weights[f"adam.mu.{k}"]) if t.step else np.zeros_like(t.params[k])
        t.nu[k] = as_f64(weights[f"adam.nu.{k}"]) if t.step else np.zeros_like(t.params[k])
    return t


def _runs(t: Trainer) -> tuple[dict[str, np.ndarray], bool]:
    """Every parameter with a leading runs axis (of 1 when there is none), and whether there was one."""
    batched = t.params["fc.b"].ndim == 2
    return (t.params if batched else {k: v[None] for k, v in t.params.items()}), batched


def _patches(a: np.ndarray, k: int) -> np.ndarray:
    """(R, N, H, W, C) -> (R, N, H, W, k*k*C): each pixel's k x k neighbourhood, zero-padded, in (i, j, c) order."""
    p = k // 2
    padded = np.pad(a, ((0, 0), (0, 0), (p, p), (p, p), (0, 0)))
    h, w = a.shape[2], a.shape[3]
    return np.concatenate([padded[:, :, i:i + h, j:j + w] for i in range(k) for j in range(k)], axis=-1)


def _unpatch(g: np.ndarray, k: int, c: int) -> np.ndarray:
    """The adjoint of _patches: (R, N, H, W, k*k*C) -> (R, N, H, W, C), overlapping windows summed."""
    p = k // 2
    r, n, h, w, _ = g.shape
    out = np.zeros((r, n, h + 2 * p, w + 2 * p, c))
    for idx, (i, j) in enumerate((i, j) for i in range(k) for j in range(k)):
        out[:, :, i:i + h, j:j + w] += g[..., idx * c:(idx + 1) * c]
    return out[:, :, p:p + h, p:p + w]


def _windows(a: np.ndarray) -> np.ndarray:
    """(R, N, H, W, C) -> (R, N, H // 2, W // 2, C, 4): each pooling window, in row-major order."""
    s = CNN_POOL
    r, n, h, w, c = a.shape
    win = a[:, :, :h // s * s, :w // s * s].reshape(r, n, h // s, s, w // s, s, c)
    return win.transpose(0, 1, 2, 4, 6, 3, 5).reshape(r, n, h // s, w // s, c, s * s)


def _pool(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """2x2 max-pool (floor: an odd last row or column is dropped) and the one-hot of each window's first max."""
    s = CNN_POOL
    win = _windows(a)
    first = np.argmax(win, axis=-1)  # argmax takes the first of equal entries
    return np.take_along_axis(win, first[..., None], -1)[..., 0], first[..., None] == np.arange(s * s)


def _unpool(g: np.ndarray, onehot: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    s = CNN_POOL
    r, n, hp, wp, c = g.shape
    win = (g[..., None] * onehot).reshape(r, n, hp, wp, c, s, s).transpose(0, 1, 2, 5, 3, 6, 4)
    out = np.zeros(shape)
    out[:, :, :hp * s, :wp * s] = win.reshape(r, n, hp * s, wp * s, c)
    return out


def _forward(t: Trainer, x: np.ndarray, train: bool, mask: np.ndarray | None):
    """Logits (R, N, C) and what the backward pass needs; in training, the batch's statistics too."""
    p, _ = _runs(t)
    a = np.transpose(as_f64(x), (0, 2, 3, 1))[None]  # NCHW -> NHWC, the one layout boundary
    cache, zs = [], []
    for i in range(t.depth):
        w = p[f"conv.{i}.w"]  # (R, k, k, Cin, Cout)
        k, cin = w.shape[1], w.shape[3]
        cols = _patches(a, k)
        z = cols @ w.reshape(len(w), 1, 1, k * k * cin, -1)  # (R, N, H, W, Cout)
        if train:  # the batch's statistics, biased variance
            mean, var = z.mean(axis=(1, 2, 3), keepdims=True), z.var(axis=(1, 2, 3), keepdims=True)
        else:
            mean, var = p[f"bn.{i}.mean"][:, None, None, None], p[f"bn.{i}.var"][:, None, None, None]
        inv = 1.0 / np.sqrt(var + BN_EPS)
        xhat = (z - mean) * inv
        y = xhat * p[f"bn.{i}.scale"][:, None, None, None] + p[f"bn.{i}.bias"][:, None, None, None]
        zs.append(y.reshape(len(y), y.shape[1], -1))
        pooled, onehot = _pool(np.maximum(y, 0.0))
        cache.append((a, cols, z, xhat, inv, y, onehot, mean, var))
        a = pooled
    h = a.reshape(a.shape[0], a.shape[1], -1)  # (R, N, H'*W'*C): the canonical (H, W, C) flatten order
    if mask is not None:
        h = h * mask
    logits = h @ p["fc.w"] + p["fc.b"][:, None, :]
    return logits, h, cache, zs


def _squeeze(a: np.ndarray, batched: bool) -> np.ndarray:
    return a if batched else a[0]


def predict(t: Trainer, x: np.ndarray) -> np.ndarray:
    return _squeeze(_forward(t, x, train=False, mask=None)[0], _runs(t)[1])  # (N, C) logits, running statistics


def _loss_and_grads(t: Trainer, x: np.ndarray, labels: np.ndarray, mask: np.ndarray | None):
    p, batched = _runs(t)
    logits, h, cache, zs = _forward(t, x, train=True, mask=mask)
    t.pre_activations = zs
    labels = np.asarray(labels, dtype=np.int64)
    n, rows = logits.shape[1], np.arange(logits.shape[1])
    shifted = logits - logits.max(axis=-1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    loss = -np.mean(log_probs[:, rows, labels], axis=-1)  # (R,)
    grad = np.exp(log_probs)  # d loss / d logits = (softmax - one_hot) / N
    grad[:, rows, labels] -= 1.0
    grad /= n
    grads = {"fc.w": np.swapaxes(h, -1, -2) @ grad, "fc.b": grad.sum(axis=1)}
    g = grad @ np.swapaxes(p["fc.w"], -1, -2)  # (R, N, features)
    if mask is not None:
        g = g * mask
    pooled_shape = cache[-1][6].shape[:-1]  # the last block's pooled output, NHWC
    g = g.reshape(pooled_shape)
    for i in reversed(range(t.depth)):
        a, cols, z, xhat, inv, y, onehot, _, _ = cache[i]
        g = _unpool(g, onehot, y.shape) * (y > 0)  # through the pool, then ReLU: 0 where its input <= 0
        axes = (1, 2, 3)
        grads[f"bn.{i}.bias"] = g.sum(axis=axes)
        grads[f"bn.{i}.scale"] = (g * xhat).sum(axis=axes)
        gx = g * p[f"bn.{i}.scale"][:, None, None, None]
        count = z.shape[1] * z.shape[2] * z.shape[3]
        # Through the batch's mean and variance as well: the textbook BatchNorm backward.
        g = inv / count * (count * gx - gx.sum(axis=axes, keepdims=True)
                           - xhat * (gx * xhat).sum(axis=axes, keepdims=True))
        r, nn_, hh, ww, cout = g.shape
        g2 = g.reshape(r, nn_ * hh * ww, cout)
        cols2 = cols.reshape(cols.shape[0], nn_ * hh * ww, -1)
        w = p[f"conv.{i}.w"]
        grads[f"conv.{i}.w"] = (np.swapaxes(cols2, -1, -2) @ g2).reshape(w.shape)
        if i > 0:
            gcols = (g2 @ np.swapaxes(w.reshape(len(w), -1, cout), -1, -2)).reshape(r, nn_, hh, ww, -1)
            g = _unpatch(gcols, w.shape[1], w.shape[3])  # to the previous block's pooled output
    loss = _squeeze(loss, batched)
    if t.grad_scale is not None:
        scale = _grad_scale(t, p, h, cache, np.exp(log_probs), labels, mask)
        t.grad_scale = {k: _squeeze(scale[k], batched) for k in t.mu}
    return np.asarray(loss), {k: _squeeze(grads[k], batched) for k in t.mu}, cache


def _grad_scale(t: Trainer, p: dict, h: np.ndarray, cache: list, probs: np.ndarray, labels: np.ndarray,
                mask: np.ndarray | None) -> dict[str, np.ndarray]:
    """The backward pass over absolute values (softmax + one_hot, |x| for every factor, BatchNorm's three terms
    added): what a rounding of each gradient is relative to. A ReLU input within rounding of 0 may take either
    branch in a correct program: its whole share counts (1/eps, as in equivalence.lecture.reference_mlp)."""
    eps = np.finfo(t.storage).eps
    n, rows = probs.shape[1], np.arange(probs.shape[1])
    d = probs.copy()
    d[:, rows, labels] += 1.0
    d /= n
    out = {"fc.w": np.swapaxes(np.abs(h), -1, -2) @ d, "fc.b": d.sum(axis=1)}
    g = d @ np.swapaxes(np.abs(p["fc.w"]), -1, -2)
    g = (g * mask if mask is not None else g).reshape(cache[-1][6].shape[:-1])
    for i in reversed(range(t.depth)):
        _, cols, z, _, inv, y, onehot, mean, _ = cache[i]
        w = p[f"conv.{i}.w"]
        r, nn_, hh, ww, cout = z.shape
        cols2 = np.abs(cols.reshape(cols.shape[0], nn_ * hh * ww, -1))  # the first block's: one image batch for all runs
        z_abs = (cols2 @ np.abs(w.reshape(r, -1, cout))).reshape(z.shape)
        x_abs = (z_abs + np.abs(mean)) * inv  # bounds |xhat| and what its rounding is relative to
        sc, bias = np.abs(p[f"bn.{i}.scale"])[:, None, None, None], np.abs(p[f"bn.{i}.bias"])[:, None, None, None]
        rounding = NEAR_ZERO * (cols.shape[-1] + 1) * eps * (x_abs * sc + bias)  # how far y may round
        near = np.abs(y) <= rounding
        # Max-pool: an entry within rounding of its window's largest may be the one a correct program picks.
        win, win_rounding = _windows(np.maximum(y, 0.0)), _windows(np.broadcast_to(rounding, y.shape))
        tie = (win.max(axis=-1, keepdims=True) - win <= 2 * win_rounding.max(axis=-1, keepdims=True)) & ~onehot & (win > 0)
        g = _unpool(g, onehot + tie / eps, y.shape) * np.where(near, 1.0 / eps, (y > 0).astype(np.float64))
        axes = (1, 2, 3)
        out[f"bn.{i}.bias"], out[f"bn.{i}.scale"] = g.sum(axis=axes), (g * x_abs).sum(axis=axes)
        gx = g * sc
        count = hh * ww * nn_
        g = inv / count * (count * gx + gx.sum(axis=axes, keepdims=True) + x_abs * (gx * x_abs).sum(axis=axes, keepdims=True))
        g2 = g.reshape(r, nn_ * hh * ww, cout)
        out[f"conv.{i}.w"] = (np.swapaxes(cols2, -1, -2) @ g2).reshape(w.shape)
        if i > 0:
            gcols = (g2 @ np.swapaxes(np.abs(w.reshape(r, -1, cout)), -1, -2)).reshape(r, nn_, hh, ww, -1)
            g = _unpatch(gcols, w.shape[1], w.shape[3])
    return out


def loss_and_grads(t: Trainer, x: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The weights' gradient in training mode (batch statistics), without dropout; nothing on `t` moves."""
    loss, grads, _ = _loss_and_grads(t, x, labels, None)
    return loss, grads


def train_step(t: Trainer, x: np.ndarray, labels: np.ndarray) -> np.ndarray:
    shape = (len(labels), t.params["fc.w"].shape[-2])
    if np.ndim(t.step):  # a step per run (equivalence.lecture.defect): each run's own mask, (R, N, features)
        mask = np.stack([dropout.masks(t.seed, int(k), 1, shape, CNN_DROPOUT, np.float64)[0] for k in t.step])
    else:
        mask = dropout.masks(t.seed, t.step, 1, shape, CNN_DROPOUT, np.float64)[0]
    loss, grads, cache = _loss_and_grads(t, x, labels, mask)
    batched = t.params["fc.b"].ndim == 2
    for i, (_, _, z, _, _, _, _, mean, var) in enumerate(cache):
        count = z.shape[1] * z.shape[2] * z.shape[3]
        for name, batch in (("mean", mean), ("var", var * count / (count - 1))):  # PyTorch keeps unbiased var
            old = t.params[f"bn.{i}.{name}"]
            batch = _squeeze(batch.reshape(len(batch), -1), batched)  # (R, C) or (C,)
            t.params[f"bn.{i}.{name}"] = store(t, (1 - BN_MOMENTUM) * old + BN_MOMENTUM * batch)
        if t.grad_scale is not None:  # the batch mean sums z of both signs: its rounding is relative to mean |z|
            axes, spread = (1, 2, 3), np.abs(z - mean)
            t.sensitivity = (t.sensitivity or {}) | {
                f"bn.{i}.mean": _squeeze(BN_MOMENTUM * np.abs(z).mean(axis=axes), batched),
                f"bn.{i}.var": _squeeze(BN_MOMENTUM * count / (count - 1) * 2 * (spread * (np.abs(z) + np.abs(mean))).mean(axis=axes), batched)}
    adam_step(t, grads)
    return loss


def train(t: Trainer, xs: np.ndarray, ys: np.ndarray) -> tuple[Trainer, np.ndarray]:
    return t, np.array([train_step(t, x, y) for x, y in zip(xs, ys)])


def export(t: Trainer) -> dict[str, np.ndarray]:
    return dict(t.params) | export_adam(t) | {"dropout.seed": np.asarray(t.seed, dtype=np.int64)}


def stage() -> SimpleNamespace:
    """The reference with the same function names as torchnet.cnn / jaxnet.cnn."""
    return SimpleNamespace(build=build, predict=predict, loss_and_grads=loss_and_grads, train=train, export=export)
