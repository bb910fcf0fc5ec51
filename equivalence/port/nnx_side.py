"""The NNX half of a check: forward with every leaf recorded, loss, gradients and optimizer steps, in ONE jax.jit."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

from .capture import nnx_calls
from .copy import copy_weights
from .match import pairs


def prepare(torch_copy, nnx_module: nnx.Module, dtype: str, train: bool, names) -> nnx.Module:
    """A copy of the NNX model in `dtype`, in train or eval mode, holding the torch weights."""
    n = nnx.clone(nnx_module)
    for _, v in nnx.iter_graph(n):
        value = v.get_value() if isinstance(v, nnx.Variable) else None
        if value is not None and jnp.issubdtype(getattr(value, "dtype", np.int8), jnp.floating):
            v.set_value(jnp.asarray(np.asarray(value).astype(dtype)))  # cast in NumPy: no per-shape XLA compile
        if isinstance(v, nnx.Module):
            # torch's .to(dtype) has no compute dtype to forget; NNX layers freeze one at construction
            # (nnx.Embed: dtype = its param_dtype, float32), which would silently compute in float32
            for attr in ("dtype", "param_dtype"):
                held = getattr(v, attr, None)
                if held is not None and jnp.issubdtype(held, jnp.floating):
                    setattr(v, attr, jnp.dtype(dtype))
    n.train() if train else n.eval()
    copy_weights(torch_copy, n, names)
    return n


def flat(state) -> dict[str, np.ndarray]:
    """A (possibly step-stacked) nnx.State as dotted path -> NumPy."""
    return {".".join(map(str, path)): np.asarray(v.get_value() if hasattr(v, "get_value") else v)
            for path, v in nnx.to_flat_state(state)}


def run(n: nnx.Module, torch_copy, names, x, target, loss_fn, tx_opt: optax.GradientTransformation | None,
        steps: int, torch_shape: tuple) -> dict:
    """Forward (leaf inputs/outputs), loss, gradients and `steps` updates of the prepared copy `n`.

    One compiled program holds one forward and one backward: the leaves are recorded inside the
    differentiated forward, and the first optimizer step's loss and gradients are the reported ones.
    """
    graphdef, params, rest = nnx.split(n, nnx.Param, ...)
    info: dict[str, Any] = {"error": None, "move": False}

    def forward(params, rest):
        m = nnx.merge(graphdef, params, rest, copy=True)
        calls: list = []
        try:
            with nnx_calls(pairs(torch_copy, m, names), calls):
                y = m(x)
        except Exception as err:  # a shape mismatch after a bad leaf: the recorded leaves still localise it
            info["error"] = f"the NNX model raised {type(err).__name__}: {' '.join(str(err).split())[:200]}"
            y = None
        if y is not None:
            # channels-first in torch, channels-last in NNX: the loss sees torch's layout
            info["move"] = (len(torch_shape) > 2 and tuple(y.shape) != torch_shape
                            and tuple(y.shape) == (torch_shape[0], *torch_shape[2:], torch_shape[1]))
        info["names"] = [c.name for c in calls]  # strings travel outside the traced values
        seen = {"y": y, "calls": [(c.input, c.output) for c in calls], "state": nnx.state(m, nnx.BatchStat)}
        return seen, nnx.split(m, nnx.Param, ...)[2]

    def loss_of(params, rest):
        seen, rest = forward(params, rest)
        if seen["y"] is None:
            return jnp.zeros(()), (seen, rest)
        y = seen["y"]
        return loss_fn(jnp.moveaxis(y, -1, 1) if info["move"] else y, target), (seen, rest)

    grad = jax.value_and_grad(loss_of, has_aux=True)

    def program(params, rest):
        if loss_fn is None:
            return forward(params, rest)[0]
        if tx_opt is None:
            (value, (seen, _)), g = grad(params, rest)
            return {**seen, "loss": value, "grads": g}

        def step(carry, _):
            params, rest, opt_state = carry
            (value, (seen, rest)), g = grad(params, rest)
            updates, opt_state = tx_opt.update(g, opt_state, params)
            params = optax.apply_updates(params, updates)
            stats = nnx.state(nnx.merge(graphdef, params, rest, copy=True), nnx.BatchStat)
            return (params, rest, opt_state), ({**seen, "loss": value, "grads": g}, (params, stats))

        _, (seen, after) = jax.lax.scan(step, (params, rest, tx_opt.init(params)), length=steps)
        first = jax.tree.map(lambda a: a[0], seen)  # step 1 starts from the initial weights
        return {**first, "steps": after}

    # forward only: eager, so repeated checks of similar models share XLA's per-operation cache
    result = program(params, rest) if loss_fn is None else _compiled(program, params, rest)(params, rest)
    calls = [(name, None if a is None else np.asarray(a), None if b is None else np.asarray(b))
             for name, (a, b) in zip(info["names"], result["calls"])]
    out = {"y": None if result["y"] is None else np.asarray(result["y"]), "calls": calls,
           "state": flat(result["state"]), "error": info["error"], "move": info["move"]}
    if "loss" in result and not info["error"]:
        out["loss"], out["grads"] = np.asarray(result["loss"]), flat(result["grads"])
    if "steps" in result and not info["error"]:
        ps, rs = result["steps"]
        out["steps"] = (flat(ps), flat(rs))
    return out


# A check runs its program once: LLVM's optimisation passes would cost more than they save (seconds per
# model on a loaded CPU). They do not change the arithmetic: XLA's CPU fast-math stays off either way.
COMPILER_OPTIONS = {"xla_backend_optimization_level": 0, "xla_llvm_disable_expensive_passes": True}


def _compiled(program, *args):
    return jax.jit(program).lower(*args).compile(COMPILER_OPTIONS)
