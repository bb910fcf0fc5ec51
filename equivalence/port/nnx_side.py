"""The NNX half of a check in ONE compiled program: a recorded forward, loss, gradients, steps, a teacher-forced pass."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

from .calling import call, select
from .capture import Call, LowSites, NnxRecorder
from .errors import PortError
from .match import Pairing
from .precision import FORCED_SCOPE, nnx_sites


@dataclass
class NnxRun:
    y: np.ndarray | None
    calls: list[Call]  # free run: each leaf on what the twin itself computed
    forced: list[Call]  # teacher-forced: each leaf's input as received, its output on torch's input
    forced_y: np.ndarray | None  # the output when every leaf hands torch's output on
    state: dict[str, np.ndarray]
    sites: LowSites
    error: str | None = None
    move: bool = False  # the twin's output is channels-last where torch's is channels-first
    loss: np.ndarray | None = None
    grads: dict[str, np.ndarray] | None = None
    steps: tuple[dict, dict] | None = None  # step-stacked parameters and statistics
    defects: list[dict] = field(default_factory=list)  # per step, from torch's state: see step_defects


def prepare(nnx_module: nnx.Module, dtype: str, train: bool) -> nnx.Module:
    """A copy of the NNX model in `dtype`, in train or eval mode."""
    n = nnx.clone(nnx_module)
    for _, v in nnx.iter_graph(n):
        value = v.get_value() if isinstance(v, nnx.Variable) else None
        if value is not None and jnp.issubdtype(getattr(value, "dtype", np.int8), jnp.floating):
            v.set_value(jnp.asarray(np.asarray(value).astype(dtype)))  # cast in NumPy: no per-shape XLA compile
        if isinstance(v, nnx.Module):
            # torch's .to(dtype) has no compute dtype to forget; NNX layers freeze one at construction
            # (nnx.Embed: dtype = its param_dtype, float32), which would silently compute in float32
            # (a half-precision compute dtype is the port's own choice: kept, and named as a precision cause)
            for attr in ("dtype", "param_dtype"):
                held = getattr(v, attr, None)
                if held is not None and jnp.issubdtype(held, jnp.floating) and jnp.dtype(held).itemsize >= 4:
                    setattr(v, attr, jnp.dtype(dtype))
    n.train() if train else n.eval()
    return n


def flat(state) -> dict[str, np.ndarray]:
    """A (possibly step-stacked) nnx.State as dotted path -> NumPy."""
    return {".".join(map(str, path)): np.asarray(v.get_value() if hasattr(v, "get_value") else v)
            for path, v in nnx.to_flat_state(state)}


def _failure(err: Exception, dtype: str) -> str:
    text = " ".join(str(err).split())[:200]
    if dtype == "float64" and re.search(r"int32|int64|uint|dtype", text):
        raise PortError(f"the NNX model fails under JAX x64 (on only inside this float64 check): {type(err).__name__}: "
                        f"{text[:160]}; likely int32 and int64 mixed (an index into dynamic_update_slice, a cache "
                        "position): give such indices one dtype, or check with dtype='float32'.") from None
    return f"the NNX model raised {type(err).__name__}: {text}"


def run(n: nnx.Module, pairing: Pairing, dtype: str, x, kwargs, output, target, loss_fn,
        tx_opt: optax.GradientTransformation | None, steps: int, torch_shape: tuple,
        forced: dict[str, tuple], free_pass: bool = True, trajectory: list | None = None) -> NnxRun:
    """Forward (leaf inputs/outputs), loss, gradients, `steps` updates and the forced pass of the prepared copy.

    ``free_pass=False``: the teacher-forced pass alone (the local analysis of a float32 check, in float64).
    """
    graphdef, params, rest = nnx.split(n, nnx.Param, ...)
    rec = NnxRecorder(pairing.pairs)
    info: dict[str, Any] = {"error": None, "move": False, "free": []}
    names = list(forced)

    def outcome(m, key: str):
        calls = rec.bind(m, None if key == "free" else dict(zip(names, info["forced_arrays"])))
        try:
            y = select(call(m, x, kwargs), output, "NNX")
        except PortError:
            raise
        except Exception as err:  # noqa: BLE001 - a shape mismatch after a bad leaf: the leaves still localise it
            info["error"] = info["error"] or _failure(err, dtype)
            y = None
        done = [c for c in calls if c is not None]
        info[key] = [Call(c.name, c.pair, None, None, c.inputs, c.note) for c in done]
        if y is not None:
            # channels-first in torch, channels-last in NNX: the loss sees torch's layout
            info["move"] = (len(torch_shape) > 2 and tuple(y.shape) != torch_shape
                            and tuple(y.shape) == (torch_shape[0], *torch_shape[2:], torch_shape[1]))
        return y, [(c.input, c.output) for c in done]

    def forward(params, rest):
        m = nnx.merge(graphdef, params, rest, copy=True)
        y, calls = outcome(m, "free")
        seen = {"y": y, "calls": calls, "state": nnx.state(m, nnx.BatchStat)}
        return seen, nnx.split(m, nnx.Param, ...)[2]

    def loss_of(params, rest):
        seen, rest = forward(params, rest)
        if seen["y"] is None:
            return jnp.zeros(()), (seen, rest)
        y = seen["y"]
        return loss_fn(jnp.moveaxis(y, -1, 1) if info["move"] else y, target), (seen, rest)

    grad = jax.value_and_grad(loss_of, has_aux=True)

    def free(params, rest):
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

    def step(params, rest, opt_state):
        (value, (seen, rest)), g = grad(params, rest)
        updates, opt_state = tx_opt.update(g, opt_state, params)
        params = optax.apply_updates(params, updates)
        stats = nnx.state(nnx.merge(graphdef, params, rest, copy=True), nnx.BatchStat)
        return (params, rest, opt_state), {**seen, "loss": value, "grads": g}, stats

    def free_eager(params, rest):
        # one trace, then op by op: the model's Python (and NNX's graph bookkeeping) runs once, and a
        # 12-layer model repeats its shapes, so XLA's per-operation cache serves most operations; one
        # compiled program of forward, backward and steps costs seconds of compiling per layer instead
        if loss_fn is None or tx_opt is None:
            return replay(free, params, rest)()
        carry, after, first = (params, rest, tx_opt.init(params)), [], None
        run_step = replay(step, *carry) if steps <= LONG else jax.jit(step)
        for _ in range(steps):
            carry, seen, stats = run_step(*carry)
            first = first or seen  # step 1 starts from the initial weights
            after.append((carry[0], stats))
        return {**first, "steps": jax.tree.map(lambda *a: jnp.stack(a), *after)}

    def forced_pass(params, rest, forced_arrays):
        info["forced_arrays"] = forced_arrays
        with jax.named_scope(FORCED_SCOPE):
            m = nnx.merge(graphdef, params, rest, copy=True)
            y, calls = outcome(m, "forced")
        return {"y": y, "calls": calls}

    arrays = [forced[k] for k in names]
    with rec.wrapped():
        # traced once: the jaxpr tells who computes in what dtype, and is then run op by op as the forced pass
        jaxpr, shape = jax.make_jaxpr(forced_pass, return_shape=True)(params, rest, arrays)
        composite = {i for i, c in enumerate(info["forced"]) if pairing.pairs[c.pair].rule.composite}
        sites = nnx_sites(jaxpr.jaxpr, dtype, composite)
        values = jax.core.eval_jaxpr(jaxpr.jaxpr, jaxpr.consts, *jax.tree.leaves((params, rest, arrays)))
        forced_out = jax.tree.unflatten(jax.tree.structure(shape), values)
        free_result = free_eager(params, rest) if free_pass else {"y": None, "calls": [], "state": None}
        result = {**free_result, "forced": forced_out}
        out = _collect(result, info, sites)
        if trajectory and tx_opt is not None and not info["error"]:
            run_grad = replay(grad, params, rest) if len(trajectory) <= LONG else jax.jit(grad)
            out.defects = step_defects(run_grad, tx_opt, params, rest, trajectory)
    return out


# Past this many steps one compiled step beats replaying its operations one by one each step.
LONG = 10


def _with(state, values: dict[str, np.ndarray]):
    """``state`` with the values named by dotted path replaced (the others kept)."""
    flat_ = [(path, v.replace(jnp.asarray(values[".".join(map(str, path))]))
              if ".".join(map(str, path)) in values else v) for path, v in nnx.to_flat_state(state)]
    return nnx.from_flat_state(flat_)


def step_defects(run_grad, tx_opt, params, rest, trajectory: list) -> list[dict]:
    """Each training step checked from the state torch reached (issue 27's per-step defect).

    ``trajectory[k]`` is torch's (parameters, batch statistics, gradient) before step k, in NNX keys.
    From each: the twin's loss, gradient and new statistics at that state, and the translated
    optimizer's next parameters from torch's gradient (its state replayed on torch's gradients). Chaos
    amplifies differences between steps; it cannot make a correct step look wrong from one state.
    """
    out, opt_state = [], None
    for theta, stats, torch_grad in trajectory:
        p, r = _with(params, theta), _with(rest, stats)
        (value, (_, r_after)), g = run_grad(p, r)
        opt_state = tx_opt.init(p) if opt_state is None else opt_state
        updates, opt_state = tx_opt.update(_with(params, torch_grad), opt_state, p)
        out.append({"loss": np.asarray(value), "grads": flat(g), "next": flat(optax.apply_updates(p, updates)),
                    "stats": flat(r_after)})
    return out


def replay(fn, *example):
    """``fn`` traced once on ``example``; the result runs its jaxpr op by op on new arguments of that structure.

    Called with no arguments, it runs on the example itself.
    """
    jaxpr, shape = jax.make_jaxpr(fn, return_shape=True)(*example)
    tree = jax.tree.structure(shape)

    def run(*args):
        values = jax.core.eval_jaxpr(jaxpr.jaxpr, jaxpr.consts, *jax.tree.leaves(args or example))
        return jax.tree.unflatten(tree, values)
    return run


def _np(a):
    return None if a is None else np.asarray(a)


def _calls(meta: list[Call], values) -> list[Call]:
    return [Call(c.name, c.pair, _np(a), _np(b), c.inputs, c.note) for c, (a, b) in zip(meta, values)]


def _collect(result: dict, info: dict, sites: LowSites) -> NnxRun:
    forced = result["forced"]
    out = NnxRun(_np(result["y"]), _calls(info["free"], result["calls"]), _calls(info["forced"], forced["calls"]),
                 _np(forced["y"]), {} if result["state"] is None else flat(result["state"]), sites, info["error"],
                 info["move"])
    if "loss" in result and not info["error"]:
        out.loss, out.grads = np.asarray(result["loss"]), flat(result["grads"])
    if "steps" in result and not info["error"]:
        ps, rs = result["steps"]
        out.steps = (flat(ps), flat(rs))
    return out
