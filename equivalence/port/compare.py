"""Compare a torch model with its NNX twin on copies in one dtype: every leaf, the loss, each gradient, each step."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn as nn
from flax import nnx

from equivalence.tolerance import TOLERANCES
from equivalence.translate import UnsupportedError
from equivalence.translate import loss as translate_loss

from . import nnx_side, torch_side
from .errors import PortError
from .lint import lint
from .numerics import DTYPES, numerics
from .report import Report, row

# An array smaller than this fraction of its quantity's norm (all gradients, or all displacements of one
# step, together) is measured against that fraction: an exact zero, such as attention's key-bias gradient
# (softmax ignores it) or a conv bias before train-mode BatchNorm, computes as rounding noise with no
# relative size of its own.
NOISE_FLOOR = 1e-3


def _validate(x, jax_x, target, loss, optimizer, steps, dtype) -> None:
    if dtype not in DTYPES:
        raise PortError(f"dtype={dtype!r}: use one of {', '.join(DTYPES)}.")
    for label, a in (("x", x), ("jax_x", jax_x), ("target", target)):
        if a is not None and not isinstance(a, np.ndarray):
            raise PortError(f"{label} is a {type(a).__name__}; pass a NumPy array (np.asarray(...)).")
    if (loss is None) != (target is None):
        raise PortError("pass target and loss together (a torch loss module, e.g. nn.MSELoss()), or neither.")
    if optimizer is not None and loss is None:
        raise PortError("an optimizer needs target= and loss= to take steps.")
    if not isinstance(steps, int) or isinstance(steps, bool) or steps < 1:
        raise PortError(f"steps={steps!r}: give a whole number of at least 1.")


def _refuse_dropout(t: nn.Module, n: nnx.Module) -> None:
    for name, m in t.named_modules():
        rate = m.p if isinstance(m, nn.modules.dropout._DropoutNd) else getattr(m, "dropout", None)
        if isinstance(rate, float) and rate > 0:
            raise PortError(f"{name or '(root)'}: dropout {rate} in train mode draws masks from two different RNGs, "
                            "which never match; set the rate to 0 for the check or use train=False.")
    for path, m in nnx.iter_graph(n):
        rate = m.rate if isinstance(m, nnx.Dropout) else getattr(m, "dropout_rate", None)
        if isinstance(m, nnx.Module) and isinstance(rate, float) and rate > 0:
            raise PortError(f"NNX {'.'.join(map(str, path))}: dropout {rate} in train mode never matches torch's "
                            "masks; set the rate to 0 for the check or use train=False.")


def _inputs(a: np.ndarray | None, dtype: str):
    if a is None:
        return None, None
    import jax.numpy as jnp

    a = np.array(a, dtype=dtype) if np.issubdtype(a.dtype, np.floating) else np.array(a)
    return torch.from_numpy(a), jnp.asarray(a)


def _forward_rows(report: Report, tr: dict, nr: dict) -> None:
    tol, by_name = report.tol, {name: (x, y) for name, x, y in nr["calls"]}
    prev = None
    for c in tr["calls"]:
        x, y = by_name.get(c.name, (None, None))
        r = row("layer", c.name, c.output, y, tol)
        report.rows.append(r)
        if not r["passed"] and report.first_divergence is None:
            x_ok = c.input is None or row("input", c.name, c.input, x, tol)["passed"]
            report.first_divergence = c.name.split("#")[0]
            report.entered = (f"in {c.name}" if x_ok else f"between {prev} and {c.name}" if prev else
                              f"before {c.name} (check jax_x, or code before the first layer)")
        prev = c.name
    ty = np.moveaxis(tr["y"], 1, -1) if nr["move"] else tr["y"]
    report.rows.append(row("output", "output", ty, nr["y"], tol))
    if report.first_divergence is None and not report.rows[-1]["passed"]:
        report.entered = f"after {prev} (code after the last layer)" if prev else "in the model's own code"


def _state_rows(report: Report, quantity: str, torch_state: dict, nnx_state: dict, index=None) -> None:
    for k, (name, a) in torch_state.items():
        b = nnx_state.get(k)
        r = row(quantity, name, a, None if b is None else (b if index is None else b[index]), report.tol)
        report.rows.append(r)
        if not r["passed"] and report.first_divergence is None:
            leaf = name.split(":")[0]
            report.first_divergence, report.entered = leaf, f"in {leaf}'s running statistics"


def _grad_rows(report: Report, tr: dict, nr: dict) -> None:
    report.rows.append(row("loss", "loss", tr["loss"], nr["loss"], report.tol))
    total = float(np.sqrt(sum(np.sum(np.square(a)) for _, a in tr["grads"].values())))
    for k, (name, a) in tr["grads"].items():
        scale = max(float(np.linalg.norm(a)), NOISE_FLOOR * total)
        report.rows.append(row("grad", name, a, nr["grads"].get(k), report.tol, scale=scale))
    bad = next((r for r in report.rows if r["quantity"] == "grad" and not r["passed"]), None)
    if bad is not None and report.first_divergence is None:
        report.first_divergence = bad["name"].split(":")[0]
        report.entered = f"in the gradient of {report.first_divergence}"


def _step_rows(report: Report, tr: dict, nr: dict, train: bool) -> None:
    params, stats = nr["steps"]
    for i, (tparams, tstats) in enumerate(tr["steps"]):
        q = f"step {i + 1}"
        moved = {k: float(np.linalg.norm(a - tr["theta0"][k][1])) for k, (_, a) in tparams.items()}
        total = float(np.sqrt(sum(m * m for m in moved.values())))
        for k, (name, a) in tparams.items():
            b = params.get(k)
            scale = max(moved[k], NOISE_FLOOR * total)  # errors relative to what moved
            report.rows.append(row(q, name, a, None if b is None else b[i], report.tol, scale=scale))
        if train:
            _state_rows(report, q, tstats, stats, index=i)
        if report.first_bad_step is None and any(not r["passed"] for r in report.rows if r["quantity"] == q):
            report.first_bad_step = i + 1


def compare(torch_module: nn.Module, nnx_module: nnx.Module, x: np.ndarray, *, jax_x: np.ndarray | None = None,
            target: np.ndarray | None = None, loss: nn.Module | None = None, optimizer: Any = None, steps: int = 1,
            dtype: str = "float64", train: bool = False, names: dict[str, str] | None = None) -> Report:
    """Compare a torch model with its NNX twin on copies; the caller's models and global flags are untouched.

    ``x`` is the torch input, ``jax_x`` the NNX input when its layout differs (NHWC). Rows: every
    matched leaf's output in call order (converted to the NNX layout), the final output; with ``target``
    and ``loss`` the loss and every parameter's gradient; with ``optimizer`` the parameters after each of
    ``steps`` updates, relative to their displacement. ``train=True`` uses batch statistics and also
    compares BatchNorm running statistics.
    """
    _validate(x, jax_x, target, loss, optimizer, steps, dtype)
    report = Report(dtype=dtype, tol=TOLERANCES[dtype].rel, findings=lint(torch_module, nnx_module, names))
    try:
        loss_fn = translate_loss(loss) if loss is not None else None
    except UnsupportedError as err:
        raise PortError(f"loss: {err}") from None
    with numerics(dtype):
        tx, _ = _inputs(x, dtype)
        _, jx = _inputs(x if jax_x is None else jax_x, dtype)
        tt, jt = _inputs(target, dtype)
        t = torch_side.fresh(torch_module, dtype, train)
        n = nnx_side.prepare(t, nnx_module, dtype, train, names)
        if train:
            _refuse_dropout(t, n)
        tr = torch_side.run(torch_module, n, names, dtype, train, tx, tt, loss, optimizer, steps)
        nr = nnx_side.run(n, t, names, jx, jt, loss_fn, tr.get("tx"), steps, tuple(tr["y"].shape))
    _forward_rows(report, tr, nr)
    if nr["error"]:
        report.errors.append(nr["error"])
    if train:
        _state_rows(report, "state", tr["state"], nr["state"])
    if "loss" in nr:
        _grad_rows(report, tr, nr)
    if "steps" in nr:
        _step_rows(report, tr, nr, train)
    return report


def assert_equivalent(torch_module, nnx_module, x, **kwargs) -> Report:
    """:func:`compare` for a test suite: raises AssertionError whose message is the report when the twins differ."""
    report = compare(torch_module, nnx_module, x, **kwargs)
    if not report.passed:
        raise AssertionError("\n" + str(report))
    return report
