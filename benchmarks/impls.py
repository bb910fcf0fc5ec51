"""The benchmarked problems and the ways of running their training step, each as a `run()` of K steps."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import numpy as np

from netdata import init, problems
from training import stages

IMPLS = ("torch-eager", "torch-fused", "torch-compile", "torch-cudagraph", "jax-floor", "jax-jit-step", "nnx-jit-step",
         "jax-scan")
TORCH_IMPLS = ("torch-eager", "torch-fused", "torch-compile", "torch-cudagraph")
CUDA_ONLY = {"torch-cudagraph": "needs CUDA: a CUDA graph captures GPU kernels (no CPU equivalent)"}
MLP_SIZES, MLP_BATCH, MLP_LR, MLP_POOL = [784, 1024, 1024, 10], 1024, 1e-3, 8
FLOPS_FORMULA = ("6 * params * batch per step (per multiply-accumulate: 2 FLOPs forward, 4 backward); it counts the "
                 "first layer's input gradient, which no one computes, so it is ~14% above the work done for mlp")


@dataclass
class Problem:
    """The same start and batches for every implementation; step i trains on batch i % len(xs)."""

    name: str
    stage: str  # torchnet.<stage> / jaxnet.<stage>: build, train_step, train
    lr: float
    steps: int  # steps per timed call (the scan's chunk length)
    weights: dict[str, np.ndarray]
    xs: np.ndarray  # (P, B, Din) distinct batches
    ys: np.ndarray  # (P, B, Dout) targets or (P, B) int64 labels
    flops_per_step: float | None = None
    matmul_flops: float | None = None  # the multiply-adds a step must do, see mlp_matmul_flops

    @property
    def order(self) -> np.ndarray:
        return np.arange(self.steps) % len(self.xs)


def make_problem(name: str, steps: int, seed: int = 0) -> Problem:
    if name == "seed":  # the lecture: Linear(4 -> 2), MSE, Adam, 64 rows, full batch every step
        x, y = problems.lecture(seed)
        weights = init.linear("torch", problems.DIN, problems.DOUT, seed)
        return Problem("seed", "optim", problems.LECTURE_LR, steps, weights, x[None], y[None])
    if name == "mlp":  # compute-bound: 784-1024-1024-10, batch 1024, cross-entropy, Adam, random data
        g = np.random.default_rng(seed)
        pool = min(steps, MLP_POOL)
        xs = g.standard_normal((pool, MLP_BATCH, MLP_SIZES[0]), dtype=np.float32)
        ys = g.integers(0, MLP_SIZES[-1], (pool, MLP_BATCH), dtype=np.int64)
        weights = init.mlp("torch", MLP_SIZES, seed)
        params = sum(w.size for w in weights.values())
        return Problem("mlp", "mlp", MLP_LR, steps, weights, xs, ys, 6.0 * params * MLP_BATCH,
                       mlp_matmul_flops(MLP_SIZES, MLP_BATCH))
    raise ValueError(f"unknown problem {name!r}; use seed or mlp")


def mlp_matmul_flops(sizes: list[int], batch: int) -> float:
    """The matmul FLOPs one MLP training step cannot avoid: forward x @ w, the weights' gradient x.T @ g,
    and the input gradient g @ w.T of every layer but the first (the data needs none). Dividing it by
    the measured matmul peak gives the fastest any implementation can take a step."""
    macs = [din * dout for din, dout in zip(sizes[:-1], sizes[1:])]
    return 2.0 * batch * (2 * sum(macs) + sum(macs[1:]))


# --- PyTorch -------------------------------------------------------------------------------------

def torch_precision(precision: str) -> None:
    import torch

    from torchnet import device

    device.pin_precision()  # highest: TF32 off, true float32 matmuls
    if precision == "default":  # TF32 on NVIDIA GPUs, as JAX's "default" precision
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
        torch.set_float32_matmul_precision("high")


COMPILE_MODE = {"cpu": "max-autotune-no-cudagraphs", "cuda": "reduce-overhead"}  # torch.compile's best per device


def _fused(optimizer, params, **extra):
    """The same optimizer (Adam, or AdamW with weight decay 0) over `params`, with torch's fast paths switched on."""
    hyper = {k: optimizer.defaults[k] for k in ("lr", "betas", "eps", "weight_decay")}
    return type(optimizer)(params, **hyper, **extra)


def torch_runner(p: Problem, device: str, mode: str = "eager") -> tuple[Callable[[], float], Callable]:
    """zero_grad / forward / loss / backward / Adam step in a Python loop, as the stage's train_step does it.

    mode eager: the stage as it is; fused: Adam(fused=True); compile: torch.compile(train_step) in
    COMPILE_MODE's mode for the device; cudagraph: the whole step captured once in a CUDA graph
    (capturable Adam) and replayed per step, the batch copied into the graph's input first.
    """
    import torch

    from torchnet import device as tdevice

    stage = stages.module("torch", p.stage)
    where = tdevice.resolve(device)
    trainer = stage.build(p.weights, p.lr, where)
    pool = [(tdevice.tensor(x, where), tdevice.tensor(y, where)) for x, y in zip(p.xs, p.ys)]
    batches = [pool[i] for i in p.order]
    sync = torch.cuda.synchronize if where.type == "cuda" else (lambda: None)
    step = stage.train_step
    if mode == "fused":
        trainer = trainer._replace(optimizer=_fused(trainer.optimizer, trainer.model.parameters(), fused=True))
    elif mode == "compile":
        # The whole step, optimizer included: Dynamo compiles forward+loss (and AOTAutograd its backward)
        # and Adam's update as separate graphs around the graph break at loss.backward().
        import logging

        torch._logging.set_logs(dynamo=logging.ERROR)  # not the note that Adam's profiler label is dropped
        step = torch.compile(stage.train_step, mode=COMPILE_MODE[where.type])
    elif mode == "cudagraph":
        return _cudagraph_runner(stage, trainer, batches, sync)

    def run():
        for x, y in batches:
            loss = step(trainer, x, y)
        sync()
        return loss

    return run, lambda loss: float(loss)


def _cudagraph_runner(stage, trainer, batches, sync):
    """PyTorch's whole-network capture recipe: warm up on a side stream, capture one step, replay it."""
    import torch

    params = list(trainer.model.parameters())
    trainer = trainer._replace(optimizer=_fused(trainer.optimizer, params, capturable=True))
    start = [w.detach().clone() for w in params]
    x_in, y_in = (t.clone() for t in batches[0])
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):  # allocates Adam's state and the kernels' workspaces outside the capture
        for _ in range(3):
            stage.train_step(trainer, x_in, y_in)
    torch.cuda.current_stream().wait_stream(side)
    trainer.optimizer.zero_grad(set_to_none=True)  # backward allocates .grad from the graph's own pool
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        loss = stage.train_step(trainer, x_in, y_in)
    with torch.no_grad():  # back to the start every implementation shares: the warm-up moved it
        for w, w0 in zip(params, start):
            w.copy_(w0)
        for state in trainer.optimizer.state.values():
            for value in state.values():
                value.zero_()  # step, exp_avg, exp_avg_sq: a fresh Adam's
    sync()

    def run():
        for x, y in batches:
            x_in.copy_(x)
            y_in.copy_(y)
            graph.replay()
        sync()
        return loss

    return run, lambda loss: float(loss)


# --- JAX / Flax NNX ------------------------------------------------------------------------------

def _jit_step_fn():
    import jax
    from flax import nnx

    @partial(jax.jit, static_argnums=(0, 1), donate_argnums=(2,))
    def jit_step(step, graphdef, state, x, y):
        trainer, loss = step(nnx.merge(graphdef, state), x, y)  # (trainer, x, y) -> (trainer, loss)
        return nnx.state(trainer), loss

    return jit_step


_JIT_STEP = None


def jax_runner(p: Problem, impl: str, dev) -> tuple[Callable[[], object], Callable]:
    """jax-jit-step: jax.jit over split state; nnx-jit-step: nnx.jit on the objects; jax-scan: stage.train."""
    global _JIT_STEP
    import jax
    from flax import nnx

    stage = stages.module("jax", p.stage)
    trainer = stage.build(p.weights, p.lr, dev)
    if impl == "jax-scan":  # the CLI's way: one compiled lax.scan over a chunk of K stacked batches
        xs = jax.device_put(p.xs[p.order], dev)
        ys = jax.device_put(p.ys[p.order], dev)

        def run():
            _, losses = stage.train(trainer, xs, ys)
            return losses.block_until_ready()

        return run, lambda losses: float(losses[-1])
    pool = [(jax.device_put(x, dev), jax.device_put(y, dev)) for x, y in zip(p.xs, p.ys)]
    batches = [pool[i] for i in p.order]
    if impl == "jax-jit-step":  # graphdef static, state a donated pytree: one dispatch per step
        _JIT_STEP = _JIT_STEP or _jit_step_fn()
        graphdef, state = nnx.split(trainer)
        holder = [state]

        def run():
            state = holder[0]
            for x, y in batches:
                state, loss = _JIT_STEP(stage.train_step, graphdef, state, x, y)
            holder[0] = state
            return loss.block_until_ready()

        return run, float
    if impl == "nnx-jit-step":  # nnx.jit traverses the module graph on every call
        step = nnx.jit(stage.train_step)

        holder = [trainer]

        def run():
            trainer = holder[0]
            for x, y in batches:
                trainer, loss = step(trainer, x, y)
            holder[0] = trainer
            return loss.block_until_ready()

        return run, float
    raise ValueError(f"unknown JAX implementation {impl!r}")


def jax_peak_gflops(dev, n: int = 2048, min_s: float = 0.5) -> float:
    """Measured float32 matmul rate (n^3, at the active matmul precision): the best of several calls."""
    import time

    import jax
    import jax.numpy as jnp

    k1, k2 = jax.random.split(jax.random.key(0))
    a = jax.device_put(jax.random.normal(k1, (n, n), jnp.float32), dev)
    b = jax.device_put(jax.random.normal(k2, (n, n), jnp.float32), dev)
    mm = jax.jit(jnp.matmul)
    mm(a, b).block_until_ready()
    best, spent = float("inf"), 0.0
    while spent < min_s or best == float("inf"):
        t0 = time.perf_counter()
        mm(a, b).block_until_ready()
        dt = time.perf_counter() - t0
        best, spent = min(best, dt), spent + dt
    return 2.0 * n**3 / best / 1e9


def torch_peak_gflops(device: str, n: int = 2048, min_s: float = 0.5) -> float:
    import time

    import torch

    from torchnet import device as tdevice

    where = tdevice.resolve(device)
    g = torch.Generator().manual_seed(0)
    a, b = (torch.randn(n, n, generator=g).to(where) for _ in range(2))
    sync = torch.cuda.synchronize if where.type == "cuda" else (lambda: None)
    a @ b
    sync()
    best, spent = float("inf"), 0.0
    while spent < min_s or best == float("inf"):
        t0 = time.perf_counter()
        a @ b
        sync()
        dt = time.perf_counter() - t0
        best, spent = min(best, dt), spent + dt
    return 2.0 * n**3 / best / 1e9


def quiet_torch_compile() -> None:
    """Fewer compile workers on small machines (a pool of processes costs more than it saves on 2 cores)."""
    if (os.cpu_count() or 1) <= 4:
        os.environ.setdefault("TORCHINDUCTOR_COMPILE_THREADS", "1")


def set_threads(n: int | None) -> None:
    """--threads N: torch's intra-op threads; N == 1 also makes XLA:CPU single-threaded (before jax loads)."""
    if not n:
        return
    import torch

    torch.set_num_threads(n)
    if n == 1 and "jax" not in sys.modules:
        flags = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
        os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} {flags}".strip()
