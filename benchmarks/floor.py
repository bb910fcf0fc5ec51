"""What XLA can do at best: the same Adam step by hand on one flat vector (jax-floor), and the mlp's roofline.

jax-floor is the benchmarks' yardstick for the framework layers: no Flax NNX objects, no Optax chain, one
parameter vector and its two moments carried through a `lax.scan`, Adam written out as Optax computes it.
`jax-scan` (the CLI's way) divided by it is `x_of_floor`. It is the floor of a step whose time is overhead
(the lecture's seed problem); on a large model the one vector costs copies (each weight sliced out of it for
its matmul), so there jax-scan, which keeps large leaves as they are (jaxnet/loop.py), can beat it.

The roofline, `us_per_step_ceiling`, is the fastest an mlp step can be on this machine: its matmul FLOPs at
the GEMM rate plus the bytes no fusion can avoid at the memory bandwidth, both measured in the same run:
- Adam reads the weights, gradients and both moments and writes the weights and both moments: 7 floats
  per parameter;
- each layer's output is written forward and read backward, and so is its gradient: 4 floats per
  activation (the matmuls' own operand traffic is inside the GEMM rate).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from netdata.problems import BETAS, EPS

ADAM_FLOATS_PER_PARAM = 7
ACTIVATION_FLOATS = 4
BYTES_FORMULA = (f"{ADAM_FLOATS_PER_PARAM} floats per parameter (Adam reads w, g, m, v, writes w, m, v) + "
                 f"{ACTIVATION_FLOATS} floats per activation (each layer output and its gradient, written and read)")


def mlp_bytes(sizes: list[int], batch: int, itemsize: int = 4) -> float:
    """The bytes an mlp training step moves outside its matmuls, see BYTES_FORMULA."""
    params = sum(din * dout + dout for din, dout in zip(sizes[:-1], sizes[1:]))
    activations = batch * sum(sizes[1:])
    return float(itemsize * (ADAM_FLOATS_PER_PARAM * params + ACTIVATION_FLOATS * activations))


def ceiling_us(matmul_flops: float, nbytes: float, gflops: float, gbytes_per_s: float) -> float:
    """A step's time at the measured rates: its matmuls at the GEMM rate, then its other bytes at the bandwidth."""
    return matmul_flops / (gflops * 1e3) + nbytes / (gbytes_per_s * 1e3)


def jax_bandwidth(dev, nbytes: float, min_s: float = 0.3) -> float:
    """Measured memory bandwidth in GB/s: the best of several `a * s` moving `nbytes` (a read, then written).

    At the step's own traffic, so the bandwidth is that of the cache level the step's data lives in.
    The input is donated and the output fed back, so every call works in place: a fresh output would
    cost its page faults (~8x slower on a CPU) and time the allocator instead of the memory.
    """
    import jax
    import jax.numpy as jnp

    a = jax.device_put(jnp.ones(max(int(nbytes) // 8, 1), jnp.float32), dev)
    nbytes = a.nbytes
    scale = jax.jit(lambda a: a * 1.0001, donate_argnums=0)
    a = scale(a).block_until_ready()
    best, spent = float("inf"), 0.0
    while spent < min_s or best == float("inf"):
        t0 = time.perf_counter()
        a = scale(a).block_until_ready()
        dt = time.perf_counter() - t0
        best, spent = min(best, dt), spent + dt
    return 2 * nbytes / best / 1e9


def _loss(problem: str, unravel: Callable) -> Callable:
    import jax
    import jax.numpy as jnp

    if problem == "seed":  # Linear + mean squared error
        def loss(flat, x, y):
            w = unravel(flat)
            return jnp.mean((x @ w["w"] + w["b"] - y) ** 2)
        return loss

    def loss(flat, x, labels):  # Linear-ReLU-...-Linear + cross-entropy over integer labels
        w = unravel(flat)
        layers = len(w) // 2
        for i in range(layers):
            x = x @ w[f"layers.{i}.w"] + w[f"layers.{i}.b"]
            x = jax.nn.relu(x) if i < layers - 1 else x
        return -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(x), labels[:, None], axis=1))
    return loss


def floor_runner(p, dev) -> tuple[Callable[[], object], Callable]:
    """jax-floor: `p.steps` Adam steps in one jitted lax.scan over (w, m, v, t), w one vector of every parameter."""
    import jax
    import jax.numpy as jnp
    from jax.flatten_util import ravel_pytree

    b1, b2 = BETAS
    flat, unravel = ravel_pytree({k: jnp.asarray(v) for k, v in p.weights.items()})
    loss = _loss(p.name, unravel)

    @jax.jit
    def scan(carry, xs, ys, lr):
        def step(carry, batch):
            w, m, v, t = carry
            value, g = jax.value_and_grad(loss)(w, *batch)
            t = t + 1
            m = (1 - b1) * g + b1 * m  # Optax's order of operations
            v = (1 - b2) * g * g + b2 * v
            m_hat = m / (1 - b1 ** t.astype(w.dtype))
            v_hat = v / (1 - b2 ** t.astype(w.dtype))
            return (w - lr * (m_hat / (jnp.sqrt(v_hat) + EPS)), m, v, t), value

        return jax.lax.scan(step, carry, (xs, ys))

    start = jax.device_put((flat, jnp.zeros_like(flat), jnp.zeros_like(flat), jnp.zeros((), jnp.int32)), dev)
    xs, ys = jax.device_put(p.xs[p.order], dev), jax.device_put(p.ys[p.order], dev)
    lr = jax.device_put(np.asarray(p.lr, flat.dtype), dev)

    def run():
        _, losses = scan(start, xs, ys, lr)
        return losses.block_until_ready()

    return run, lambda losses: float(losses[-1])
