"""Compare a torch model with its NNX twin on copies in one dtype: each leaf and gap alone, the loss, gradients, steps."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np
from flax import nnx
from torch import nn

from equivalence.tolerance import TOLERANCES
from equivalence.translate import UnsupportedError
from equivalence.translate import loss as translate_loss

from . import nnx_side, torch_side
from .calling import check_input, converted, kwargs_for
from .copy import planned, write
from .errors import PortError
from .lint import lint
from .local import Local, _in_shape
from .match import Pairing, nnx_modules, pair_models
from .numerics import DTYPES, numerics
from .order import probe
from .report import Cause, Report, row
from .weights import loaded_rows

# An array smaller than this fraction of its quantity's norm (all gradients, or all displacements of one
# step, together) is measured against that fraction: an exact zero, such as attention's key-bias gradient
# (softmax ignores it) or a conv bias before train-mode BatchNorm, computes as rounding noise with no
# relative size of its own.
NOISE_FLOOR = 1e-3
# A step checked from torch's own state may differ from torch's next state by a few roundings of the
# state itself (the update is added to weights stored in the dtype): 4 ulps of the state's norm.
STATE_ULPS = 4


def _norm(layout) -> float:
    return float(np.sqrt(sum(np.sum(np.square(a)) for _, a in layout.values())))


def _validate(x, jax_x, target, loss, optimizer, steps, dtype, weights) -> None:
    if dtype not in DTYPES:
        raise PortError(f"dtype={dtype!r}: use one of {', '.join(DTYPES)}.")
    for label, a in (("x", x), ("jax_x", jax_x), ("target", target)):
        check_input(label, a)
    if (loss is None) != (target is None):
        raise PortError("pass target and loss together (a torch loss module, e.g. nn.MSELoss()), or neither.")
    if optimizer is not None and loss is None:
        raise PortError("an optimizer needs target= and loss= to take steps.")
    if not isinstance(steps, int) or isinstance(steps, bool) or steps < 1:
        raise PortError(f"steps={steps!r}: give a whole number of at least 1.")
    if weights not in ("copy", "loaded"):
        raise PortError(f"weights={weights!r}: 'copy' (torch's weights into the twin) or 'loaded' (check the twin's).")


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


def _add(report: Report, r, kind: str, leaf: str, where: str, message: str) -> None:
    report.rows.append(r)
    if not r.passed and r.decides and not any(c.fails for c in report.causes if c.kind == kind):
        report.causes.append(Cause(kind, leaf, r.rel_err, r.tol, message, where))


def _end_to_end(report: Report, tr, nr, tol: float, train: bool, pairs) -> None:
    ty = np.moveaxis(tr.y, 1, -1) if nr.move else tr.y
    free = {c.name: c for c in nr.calls}
    for c in tr.calls:  # accumulated: where the whole model stands at each leaf (shown, not deciding)
        other = getattr(free.get(c.name), "output", None)
        ref = _in_shape(c.output, other, pairs[c.pair].rule.reshape)
        report.rows.append(row("layer", c.name, ref, other, tol, decides=False))
    local_cause = any(c.fails for c in report.causes)
    r = row("output", "output", ty, nr.y, tol, decides=not local_cause)
    _add(report, r, "output", "output", "in the model's output", "the output differs, and no layer or gap alone "
         "explains it (a leaf not called on the NNX side? a table read directly?)")
    if train:
        for k, (name, a) in tr.state.items():
            leaf = name.split(":")[0]
            _add(report, row("state", name, a, nr.state.get(k), tol), "state", leaf, f"in {leaf}'s running statistics",
                 "running statistics differ after the forward (momentum? unbiased variance?)")
    if tr.loss is None or nr.loss is None:
        return
    _add(report, row("loss", "loss", tr.loss, nr.loss, tol, decides=not local_cause), "output", "loss", "in the loss",
         "the loss differs")
    total = float(np.sqrt(sum(np.sum(np.square(a)) for _, a in tr.grads.values())))
    for k, (name, a) in tr.grads.items():
        scale = max(float(np.linalg.norm(a)), NOISE_FLOOR * total)
        leaf = name.split(":")[0]
        _add(report, row("grad", name, a, nr.grads.get(k), tol, scale=scale, decides=not local_cause), "grad", leaf,
             f"in the gradient of {leaf}", "the gradient differs where the forward agrees (a stop_gradient, a "
             "padding_idx, a custom backward)")
    if nr.steps is None:
        return
    chaos_proof = bool(nr.defects)
    params, stats = nr.steps
    for i, (tparams, tstats) in enumerate(tr.steps):
        q = f"step {i + 1}"
        moved = {k: float(np.linalg.norm(a - tr.theta0[k][1])) for k, (_, a) in tparams.items()}
        total = float(np.sqrt(sum(m * m for m in moved.values())))
        for k, (name, a) in tparams.items():
            b = params.get(k)
            scale = max(moved[k], NOISE_FLOOR * total)  # errors relative to what moved
            leaf = name.split(":")[0]
            _add(report, row(q, name, a, None if b is None else b[i], tol, scale=scale,
                             decides=not local_cause and not chaos_proof),
                 "step", leaf, f"in optimizer step {i + 1} of {leaf}", "the optimizer step differs")
        if train:
            for k, (name, a) in tstats.items():
                b = stats.get(k)
                leaf = name.split(":")[0]
                _add(report, row(q, name, a, None if b is None else b[i], tol), "state", leaf,
                     f"in {leaf}'s running statistics", "running statistics differ after a step")
        if report.first_bad_step is None and any(not r.passed and r.decides for r in report.rows if r.quantity == q):
            report.first_bad_step = i + 1
    for i, seen in enumerate(nr.defects):
        state = [a for _, a in (*_before(tr, i)[0].values(), *tr.step_grads[i].values())]
        if not all(np.all(np.isfinite(a)) for a in state):
            report.causes.append(Cause("note", "steps", float("nan"), tol, f"torch's run diverged (a non-finite "
                                       f"state) before step {i + 1}: steps 1 to {i} were checked", ""))
            break
        _defect_rows(report, tr, i, seen, tol, train, local_cause)


def _before(tr, i: int):
    """Torch's parameters and statistics before step i + 1."""
    return (tr.theta0, tr.stats0) if i == 0 else tr.steps[i - 1]


def trajectory(tr) -> list:
    """Torch's state before each step, in NNX keys: what the twin steps from (see nnx_side.step_defects)."""
    plain = lambda layout: {k: a for k, (_, a) in layout.items()}
    return [(plain(_before(tr, i)[0]), plain(_before(tr, i)[1]), plain(tr.step_grads[i])) for i in range(len(tr.steps))]


def _defect_rows(report: Report, tr, i: int, seen: dict, tol: float, train: bool, local_cause: bool) -> None:
    """Step i + 1 from torch's own state: the twin's gradient and new statistics, and the optimizer's update."""
    q, (theta, _) = f"defect {i + 1}", _before(tr, i)
    after, stats_after = tr.steps[i]
    grads = tr.step_grads[i]
    # rounding in a gradient scales with its terms, not with the gradient, which vanishes near a minimum:
    # the first step's gradient sets the floor
    total = max(_norm(grads), _norm(tr.step_grads[0]))
    for k, (name, a) in grads.items():
        leaf = name.split(":")[0]
        scale = max(float(np.linalg.norm(a)), NOISE_FLOOR * total)
        _add(report, row(q, f"{name} (gradient)", a, seen["grads"].get(k), tol, scale=scale, decides=not local_cause),
             "grad", leaf, f"in the gradient of {leaf} at step {i + 1}", "from torch's state at this step, the "
             "twin's gradient differs (chaos cannot do this: both start from the same state)")
    moved = {k: float(np.linalg.norm(a - theta[k][1])) for k, (_, a) in after.items()}
    total = float(np.sqrt(sum(m * m for m in moved.values())))
    for k, (name, a) in after.items():
        leaf = name.split(":")[0]
        # a step smaller than the state's rounding is judged in units of that rounding (issue 27)
        scale = max(moved[k], NOISE_FLOOR * total, STATE_ULPS * np.finfo(a.dtype).eps * np.linalg.norm(a) / tol)
        _add(report, row(q, f"{name} (update)", a, seen["next"].get(k), tol, scale=scale), "step", leaf,
             f"in optimizer step {i + 1} of {leaf}", "from torch's state and gradient, the translated optimizer's "
             "update differs")
    if train:
        for k, (name, a) in stats_after.items():
            leaf = name.split(":")[0]
            _add(report, row(q, name, a, seen["stats"].get(k), tol), "state", leaf,
                 f"in {leaf}'s running statistics at step {i + 1}", "from torch's state, the statistics differ")
    if report.first_bad_step is None and any(not r.passed and r.decides for r in report.rows if r.quantity == q):
        report.first_bad_step = i + 1


def compare(torch_module: nn.Module, nnx_module: nnx.Module, x, *, jax_x=None, target: np.ndarray | None = None,
            loss: nn.Module | None = None, optimizer: Any = None, steps: int = 1, dtype: str = "float64",
            train: bool = False, names: dict[str, str] | None = None, rules: list | None = None,
            output: str | Callable | None = None, torch_kwargs: dict | None = None, nnx_kwargs: dict | None = None,
            weights: str = "copy") -> Report:
    """Compare a torch model with its NNX twin on copies; the caller's models and global flags are untouched.

    ``x`` is the torch input (an array, token ids, or a dict of keyword inputs), ``jax_x`` the NNX
    input when its layout differs (NHWC). Each NNX leaf runs on the torch leaf's recorded input and
    passes torch's output on (teacher forcing), so every leaf's and every gap's own error is measured
    alone; the causes are ranked. Beside them: the accumulated per-leaf outputs, the output (``output``:
    a field name or a function), the loss and gradients (``target`` and ``loss``), and ``steps``
    optimizer updates. ``weights='loaded'`` checks the twin's own weights instead of copying torch's.
    """
    _validate(x, jax_x, target, loss, optimizer, steps, dtype, weights)
    from .rules import scoped_rules

    with scoped_rules(rules):
        return _compare(torch_module, nnx_module, x, jax_x, target, loss, optimizer, steps, dtype, train, names,
                        output, torch_kwargs, nnx_kwargs, weights)


def _compare(torch_module, nnx_module, x, jax_x, target, loss, optimizer, steps, dtype, train, names, output,
             torch_kwargs, nnx_kwargs, weights) -> Report:
    tol = TOLERANCES[dtype].rel
    try:
        loss_fn = translate_loss(loss) if loss is not None else None
    except UnsupportedError as err:
        raise PortError(f"loss: {err}") from None
    with numerics(dtype):
        tx, _ = converted(x, dtype)
        _, jx = converted(x if jax_x is None else jax_x, dtype)
        tt, jt = converted(target, dtype)
        t = torch_side.fresh(torch_module, dtype, train)
        n = nnx_side.prepare(nnx_module, dtype, train)
        tkw, nkw = kwargs_for(torch_kwargs, dtype, 0), kwargs_for(nnx_kwargs, dtype, 1)
        pairing: Pairing = pair_models(t, n, names, order=probe(t, n, tx, tkw, jx, nkw))
        report = Report(dtype=dtype, tol=tol, findings=lint(t, n, names, pairing=pairing), pairing=str(pairing))
        plan = planned(pairing) if weights == "copy" else None
        if weights == "loaded":
            report.rows += loaded_rows(pairing, tol)
        else:
            write(plan)
        if train:
            _refuse_dropout(t, n)
        tr = torch_side.run(torch_module, t, pairing, dtype, tx, tkw, output, tt, loss, optimizer, steps)
        forced = {c.name: (c.input, c.output) for c in tr.calls}
        nr = nnx_side.run(n, pairing, dtype, jx, nkw, output, jt, loss_fn, tr.tx, steps, tuple(tr.y.shape), forced,
                          trajectory=trajectory(tr) if tr.steps else None)
    local = Local(tr, nr, pairing, dtype, tol) if dtype == "float64" else _local_in_float64(
        torch_module, nnx_module, pairing, x, jax_x, torch_kwargs, nnx_kwargs, output, train, weights)
    report.rows += local.rows
    report.causes += local.ranked()
    for r in report.rows:
        if r.quantity == "weight" and not r.passed:
            report.causes.insert(0, Cause("weight", r.name.split(":")[0], r.rel_err, tol,
                                          r.note or "the loaded twin's tensor differs from torch's", f"in {r.name}"))
    if nr.error:
        report.errors.append(nr.error)
    _end_to_end(report, tr, nr, max(tol, local.internal_tolerance()), train, pairing.pairs)
    report.causes += local.notes + [Cause("note", n_.split(":")[0], float("nan"), tol, n_, "") for n_ in pairing.notes]
    return report


def _local_in_float64(torch_module, nnx_module, pairing: Pairing, x, jax_x, torch_kwargs, nnx_kwargs, output, train,
                      weights) -> Local:
    """A float32 check's local errors, measured in float64: float32 rounding is ~1e-7 per operation, so a
    formula that differs by 1e-5 (a tanh GELU for the exact one) stands out where float32 would hide it."""
    with numerics("float64"):
        t = torch_side.fresh(torch_module, "float64", train)
        n = nnx_side.prepare(nnx_module, "float64", train)
        mods, by_path = dict(t.named_modules()), nnx_modules(n)
        again = Pairing([dataclasses.replace(p, torch_module=mods[p.torch_name], nnx_module=by_path[p.nnx_path])
                         for p in pairing], pairing.notes)
        if weights == "copy":
            write(planned(again))
        tx, _ = converted(x, "float64")
        _, jx = converted(x if jax_x is None else jax_x, "float64")
        tr = torch_side.run(torch_module, t, again, "float64", tx, kwargs_for(torch_kwargs, "float64", 0), output,
                            None, None, None, 1)
        forced = {c.name: (c.input, c.output) for c in tr.calls}
        nr = nnx_side.run(n, again, "float64", jx, kwargs_for(nnx_kwargs, "float64", 1), output, None, None, None, 1,
                          tuple(tr.y.shape), forced, free_pass=False)
    return Local(tr, nr, again, "float64", TOLERANCES["float64"].rel)


def assert_equivalent(torch_module, nnx_module, x, **kwargs) -> Report:
    """:func:`compare` for a test suite: raises AssertionError whose message is the report when the twins differ."""
    report = compare(torch_module, nnx_module, x, **kwargs)
    if not report.passed:
        raise AssertionError("\n" + str(report))
    return report
