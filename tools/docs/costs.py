"""What each pitfall costs, measured when the docs are generated: {pitfall: {what: value}}; never typed by hand."""

from __future__ import annotations

import time

import jax
import jax.numpy as jnp
import numpy as np
import optax
import torch
from flax import nnx

from jaxnet import adam
from netdata import init, problems
from netdata.problems import BETAS, EPS
from tools.docs.solutions import autograd, mlp, module, nn, optim


def inplace() -> dict:
    a = jnp.zeros(3)
    try:
        a[0] = 1.0  # what `w[0] = 1` would be in PyTorch
    except TypeError as error:
        return {"a[0] = 1.0 on a JAX array": f"TypeError: {str(error).split('. ')[0]}.",
                "a.at[0].set(1.0)": str(a.at[0].set(1.0).tolist())}
    return {"a[0] = 1.0 on a JAX array": "no error"}


def float64() -> dict:
    x, _ = problems.lecture(seed=0, dtype=np.float64)
    with jax.enable_x64(False):
        silent = jnp.asarray(x)
    err = np.abs(np.asarray(silent, np.float64) - x).max() / np.abs(x).max()
    return {"dtype of jnp.asarray(float64 array) without x64": str(silent.dtype), "relative error it adds": err}


def tf32() -> dict:
    """TF32 keeps 10 of float32's 23 mantissa bits: round the inputs so, multiply, compare with float64."""
    g = problems.rng(0, problems.DATA_STREAM, 7)
    a, b = g.standard_normal((256, 256)).astype(np.float32), g.standard_normal((256, 256)).astype(np.float32)
    keep = lambda m: (m.view(np.uint32) + np.uint32(0x1000) & np.uint32(0xFFFFE000)).view(np.float32)  # noqa: E731
    exact = a.astype(np.float64) @ b.astype(np.float64)
    rel = lambda c: float(np.linalg.norm(c - exact) / np.linalg.norm(exact))  # noqa: E731
    return {"float32 matmul, relative error": rel(a @ b), "TF32-rounded inputs, relative error": rel(keep(a) @ keep(b))}


def no_grad() -> dict:
    w = torch.ones(2, requires_grad=True)
    try:
        w -= 0.1 * torch.ones(2)  # the update outside torch.no_grad()
    except RuntimeError as error:
        return {"w -= lr * g without no_grad": f"RuntimeError: {str(error).split('. ')[0].rstrip('.')}."}
    return {"w -= lr * g without no_grad": "no error"}


def init_difference() -> dict:
    x, y = problems.lecture(seed=0)
    torch.manual_seed(0)
    layer = torch.nn.Linear(problems.DIN, problems.DOUT)
    flax = nnx.Linear(problems.DIN, problems.DOUT, rngs=nnx.Rngs(0))
    loss_torch = torch.mean((layer(torch.from_numpy(x)) - torch.from_numpy(y)) ** 2).item()
    loss_flax = float(jnp.mean((flax(x) - y) ** 2))
    return {"first loss, torch's default init": loss_torch, "first loss, Flax's default init": loss_flax}


def _nnx_jit_step(model, optimizer, x, y):
    grads = nnx.grad(lambda m: jnp.mean((m(x) - y) ** 2))(model)
    optimizer.update(model, grads)


def jit_overhead(steps: int = 200) -> dict:
    """Microseconds per Adam step: `nnx.jit` around each step, against `scan_steps` over all of them."""
    from jaxnet import optim as stage

    x, y = problems.lecture(seed=0)
    weights = init.linear("torch", problems.DIN, problems.DOUT)
    trainer = stage.build(weights, 1e-2)
    step = nnx.jit(_nnx_jit_step)
    step(trainer.model, trainer.optimizer, x, y)  # compile first: time the second call, not the first
    start = time.perf_counter()
    for _ in range(steps):
        step(trainer.model, trainer.optimizer, x, y)
    jax.block_until_ready(trainer.model.kernel[...])
    per_call = (time.perf_counter() - start) / steps
    xs, ys = jnp.broadcast_to(x, (steps, *x.shape)), jnp.broadcast_to(y, (steps, *y.shape))
    trainer = stage.build(weights, 1e-2)
    jax.block_until_ready(stage.train(trainer, xs, ys)[1])  # compile
    start = time.perf_counter()
    jax.block_until_ready(stage.train(trainer, xs, ys)[1])
    per_scan = (time.perf_counter() - start) / steps
    return {"µs per step, nnx.jit each step": per_call * 1e6, "µs per step, scan_steps": per_scan * 1e6}


def adamw(steps: int = 100, lr: float = 1e-2, wd: float = 1e-2) -> dict:
    """`optax.adamw` against the true twin of torch's Adam(weight_decay=wd): relative difference of the weights."""
    x, y = problems.lecture(seed=0)
    w0 = jnp.asarray(init.linear("torch", problems.DIN, problems.DOUT)["w"])
    grad = jax.grad(lambda w: jnp.mean((x @ w - y) ** 2))
    out = {}
    for name, tx in (("l2", optax.chain(optax.add_decayed_weights(wd), optax.adam(lr))),
                     ("adamw", optax.adamw(lr, weight_decay=wd))):
        w, state = w0, tx.init(w0)
        for _ in range(steps):
            updates, state = tx.update(grad(w), state, w)
            w = optax.apply_updates(w, updates)
        out[name] = np.asarray(w)
    diff = np.linalg.norm(out["adamw"] - out["l2"]) / np.linalg.norm(out["l2"] - np.asarray(w0))
    return {f"adamw vs Adam + L2 after {steps} steps, relative to what moved": float(diff)}


def adam_state() -> dict:
    w = torch.zeros(2, requires_grad=True)
    optimizer = torch.optim.Adam([w])
    state = optax.adam(1e-3).init(jnp.zeros(2))
    return {"torch: state entries before the first step": len(optimizer.state),
            "Optax: count after init": int(state[0].count)}


def adam_bias(lr: float = 1e-2) -> dict:
    """One float32 Adam step from the lecture's first gradient against the exact one, lr * g / (|g| + eps) at step 1."""
    x, y = problems.lecture(seed=0)
    w0 = jnp.asarray(init.linear("torch", problems.DIN, problems.DOUT)["w"], jnp.float32)
    g = jax.grad(lambda w: jnp.mean((x @ w - y) ** 2))(w0)
    exact = lr * np.asarray(g, np.float64) / (np.abs(np.asarray(g, np.float64)) + EPS)
    out = {"1 - 0.999 in float32, relative error": float(1 - np.float32(BETAS[1])) / (1 - BETAS[1]) - 1}
    for name, scale_by_adam in (("optax.adam", optax.scale_by_adam), ("jaxnet.adam", adam.scale_by_adam)):
        tx = optax.chain(scale_by_adam(*BETAS, EPS), optax.scale_by_learning_rate(lr))
        step, _ = tx.update(g, tx.init(w0))
        short = 1 - float(np.vdot(-np.asarray(step, np.float64), exact) / np.vdot(exact, exact))
        out[f"one float32 {name} step, relative shortfall"] = short
    return out


def bn_var(channels: int = 16) -> dict:
    """One training-mode BatchNorm call in torch and in plain Flax NNX on the same batch: how far the running
    variances part (torch's takes the unbiased batch variance, Flax's the biased one), for the CNN's first batch
    norm (64 images of 8 x 8) and for a batch of 8 values per channel."""
    out = {}
    for label, shape in (("64 x 8 x 8", (64, 8, 8, channels)), ("8 values", (2, 2, 2, channels))):
        z = problems.rng(0, problems.DATA_STREAM, 9).standard_normal(shape).astype(np.float32)  # NHWC
        bn_t = torch.nn.BatchNorm2d(channels, momentum=problems.BN_MOMENTUM, eps=problems.BN_EPS).train()
        bn_t(torch.from_numpy(z).permute(0, 3, 1, 2))
        bn_f = nnx.BatchNorm(channels, momentum=1 - problems.BN_MOMENTUM, epsilon=problems.BN_EPS, rngs=nnx.Rngs(0))
        bn_f(jnp.asarray(z), use_running_average=False)
        var_t, var_f = bn_t.running_var.numpy().astype(np.float64), np.asarray(bn_f.var[...], np.float64)
        kept = 1 - problems.BN_MOMENTUM  # both start at 1 and keep this share of it: the rest is the batch's
        out[f"torch's batch variance over Flax's, minus 1, batch of {label}"] = float(
            np.mean((var_t - kept) / (var_f - kept)) - 1)  # n / (n - 1) - 1 = 1 / (n - 1)
        x = torch.from_numpy(z).permute(0, 3, 1, 2)
        with torch.no_grad():
            y_t = bn_t.eval()(x).permute(0, 2, 3, 1).numpy()
        y_f = np.asarray(bn_f(jnp.asarray(z), use_running_average=True))
        out[f"eval output, largest relative difference, batch of {label}"] = float(
            np.abs(y_t - y_f).max() / np.abs(y_t).max())
    return out


MEASURES = {
    "inplace": inplace, "float64": float64, "tf32": tf32, "no_grad": no_grad, "accumulate": autograd.forgotten_zero_grad,
    "layout": lambda: nn.untransposed() | nn.untransposed(4, 2), "init": init_difference, "mse": nn.l2_loss_gradient,
    "jit": jit_overhead, "adamw": adamw, "adam_state": adam_state, "adam_step": optim.largest_step,
    "adam_bias": adam_bias, "rngs": module.same_seed, "logits": lambda: mlp.no_mean() | mlp.double_softmax(),
    "bn_var": bn_var,
}


def measure_costs() -> dict[str, dict]:
    return {key: measure() for key, measure in MEASURES.items()}
