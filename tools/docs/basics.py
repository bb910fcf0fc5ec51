"""The "JAX for PyTorch users" chapter's examples: tiny programs run when the docs are generated, their output kept."""

from __future__ import annotations

import contextlib
import io
from typing import NamedTuple


class Example(NamedTuple):
    key: str  # its prose: BASICS[key] and HABITS[key] (the PyTorch habit) of templates/pages.<lang>.md
    code: str


EXAMPLES = [
    Example("pytree", '''\
import jax
import jax.numpy as jnp

params = {"w": jnp.ones((4, 2)), "b": jnp.zeros(2)}  # a pytree: dicts, lists and tuples of arrays, nested
print(jax.tree.structure(params))
print([leaf.shape for leaf in jax.tree.leaves(params)])
grads = {"w": jnp.full((4, 2), 0.5), "b": jnp.ones(2)}  # the same structure
params = jax.tree.map(lambda p, g: p - 0.1 * g, params, grads)  # one function over every leaf: the update
print(params["b"])
'''),
    Example("grad", '''\
import jax
import jax.numpy as jnp


def loss_fn(params, x, y):  # a function of the parameters: nothing to record, nothing to zero
    y_pred = x @ params["w"] + params["b"]
    return 0.5 * jnp.sum((y_pred - y) ** 2)


params = {"w": jnp.ones((4, 2)), "b": jnp.zeros(2)}
x, y = jnp.ones((3, 4)), jnp.zeros((3, 2))
loss, grads = jax.value_and_grad(loss_fn)(params, x, y)  # with respect to the first argument
print(loss, grads["b"])  # grads has the structure of params
print(jax.grad(loss_fn, argnums=1)(params, x, y).shape)  # or with respect to x
'''),
    Example("scan", '''\
import jax
import jax.numpy as jnp


def step(w, batch):  # (carry, one slice of the inputs) -> (new carry, one output)
    x, y = batch
    y_pred = x @ w
    loss = 0.5 * jnp.sum((y_pred - y) ** 2)
    return w - 0.01 * x.T @ (y_pred - y), loss


x, y = jnp.array([[1.0, 2.0], [3.0, 4.0]]), jnp.array([[1.0], [2.0]])
xs, ys = jnp.broadcast_to(x, (100, 2, 2)), jnp.broadcast_to(y, (100, 2, 1))  # one slice per step
train = jax.jit(lambda w, xs, ys: jax.lax.scan(step, w, (xs, ys)))  # `for t in range(100)`, compiled once
w, losses = train(jnp.zeros((2, 1)), xs, ys)
print(losses.shape, losses[0], losses[-1])
'''),
    Example("tracing", '''\
import jax
import jax.numpy as jnp

@jax.jit
def double(x):
    print("print: tracing with", x)  # runs while JAX traces: once per new shape or dtype
    jax.debug.print("debug.print: running with {}", x)  # part of the compiled program: every call
    return 2 * x

double(1.0)
double(2.0)  # same shape and dtype: no tracing, the compiled program runs
double(jnp.arange(3.0))  # a new shape: traced (and compiled) again
jax.effects_barrier()
'''),
    Example("static", '''\
from functools import partial

import jax

def power(x, n):
    result = x
    for _ in range(n - 1):  # a Python loop needs a concrete n
        result = result * x
    return result

try:
    jax.jit(power)(2.0, 3)  # n is traced: an abstract integer, no value to loop over
except Exception as error:
    print(type(error).__name__)

power_jit = jax.jit(power, static_argnames="n")  # n is part of the program: one compilation per n
print(power_jit(2.0, n=3), power_jit(2.0, n=10))
'''),
    Example("random", '''\
import jax

key = jax.random.key(0)
print(jax.random.normal(key, (3,)))
print(jax.random.normal(key, (3,)))  # the same key gives the same numbers, every time
key, sub = jax.random.split(key)  # a new key for every use: split, never reuse
print(jax.random.normal(sub, (3,)))
'''),
    Example("vmap", '''\
import jax
import jax.numpy as jnp

def loss(w, x, y):  # one example: x (Din,), y (Dout,)
    return jnp.sum((x @ w - y) ** 2)

w = jnp.ones((4, 2))
xs, ys = jnp.ones((64, 4)), jnp.zeros((64, 2))
per_example = jax.vmap(jax.grad(loss), in_axes=(None, 0, 0))(w, xs, ys)  # w shared, x and y batched
print(per_example.shape)  # one gradient per example: hard to get from loss.backward()
'''),
    Example("timing", '''\
import time

import jax
import jax.numpy as jnp

matmul = jax.jit(lambda a: a @ a)
a = jnp.ones((1000, 1000))
matmul(a).block_until_ready()  # the first call compiles: keep it out of the timing

start = time.perf_counter()
result = matmul(a)  # returns at once: JAX dispatches asynchronously
returned = time.perf_counter() - start
result.block_until_ready()  # wait until the result is really there
finished = time.perf_counter() - start
print(f"returned after {returned * 1e3:.3f} ms, finished after {finished * 1e3:.3f} ms")
'''),
]


def run(code: str) -> str:
    """Run one example in a fresh namespace; what it printed."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "<example>", "exec"), {"__name__": "__example__"})  # noqa: S102 - our own examples
    return out.getvalue()


def run_all() -> dict[str, str]:
    return {e.key: run(e.code) for e in EXAMPLES}
