"""Each leaf's and each gap's own error (teacher forcing), judged against the arithmetic it runs in, as causes."""

from __future__ import annotations

import math

import numpy as np

from .capture import Call
from .match import Pairing
from .nnx_side import NnxRun
from .precision import explain
from .report import Cause, Row, row
from .rules import fit_shape
from .torch_side import TorchRun


def _in_shape(ref, other, reshape: bool):
    if ref is None or other is None or not reshape:
        return ref
    fitted = fit_shape(np.asarray(ref), tuple(np.shape(other)))
    return ref if fitted is None else fitted


def _severity(c: Cause) -> tuple:
    ratio = c.error / c.tolerance if c.tolerance > 0 else math.inf
    if math.isnan(ratio) or math.isinf(ratio):
        return (-math.inf,)
    return (-math.floor(math.log10(max(ratio, 1e-300))),)


class Local:
    """Rows and causes of the teacher-forced pass."""

    def __init__(self, tr: TorchRun, nr: NnxRun, pairing: Pairing, dtype: str, tol: float):
        self.tr, self.nr, self.pairing, self.dtype, self.tol = tr, nr, pairing, dtype, tol
        self.rows: list[Row] = []
        self.causes: list[Cause] = []
        self.notes: list[Cause] = []
        self._measure()

    def _judge(self, r: Row, kind: str, path: str, where: str, calls: tuple[int, int], inputs: int, message: str):
        r.decides = False  # the causes decide
        if r.passed:
            return
        why = explain(kind, calls, inputs, r.rel_err, self.dtype, self.tr.sites, self.nr.sites)
        if why is not None:
            r.note = (r.note + "; " if r.note else "") + "precision, explained"
            self.causes.append(Cause("precision", path, r.rel_err, why[1], why[0], where))
        else:
            self.causes.append(Cause(kind, path, r.rel_err, self.tol, message + (f" ({r.note})" if r.note else ""),
                                     where))

    def _measure(self) -> None:
        forced = {c.name: (i, c) for i, c in enumerate(self.nr.forced)}
        prev = None
        for k, c in enumerate(self.tr.calls):
            hit = forced.get(c.name)
            if hit is None:
                self.notes.append(Cause("note", c.name, math.nan, self.tol, "not called on the NNX side: read directly? "
                                        "(its tensors are still compared through gradients and steps)",
                                        f"in {c.name}"))
                continue
            i, f = hit
            reshape = self.pairing.pairs[c.pair].rule.reshape
            if c.input is not None and f.input is not None:
                where = f"between {prev} and {c.name}" if prev else f"before {c.name}"
                r = row("gap", c.name, _in_shape(c.input, f.input, reshape), f.input, self.tol)
                self.rows.append(r)
                self._judge(r, "gap", c.name, where, (k, i), c.inputs,
                            f"the code {where} (an activation, a reshape, a residual) differs on torch's outputs"
                            if prev else "what reaches the first layer differs: check jax_x, or code before it")
            if c.output is None or f.output is None:  # a return value with no array to pick: nothing to compare
                self.notes.append(Cause("note", c.name, math.nan, self.tol, "its output is not an array on one side "
                                        "(give its rule a pick=): not compared", f"in {c.name}"))
                prev = c.name
                continue
            r = row("leaf", c.name, _in_shape(c.output, f.output, reshape), f.output, self.tol)
            if f.note:
                r.note = (r.note + "; " if r.note else "") + f.note
            self.rows.append(r)
            self._judge(r, "leaf", c.name, f"in {c.name}", (k, i), c.inputs,
                        f"{c.name} itself differs: run on torch's input, its output is not torch's")
            prev = c.name
        torch_names = {c.name for c in self.tr.calls}
        for c in self.nr.forced:
            if c.name not in torch_names:
                self.notes.append(Cause("note", c.name, math.nan, self.tol, "called on the NNX side only",
                                        f"in {c.name}"))
        if self.nr.forced_y is not None:
            ty = np.moveaxis(self.tr.y, 1, -1) if self.nr.move else self.tr.y
            where = f"after {prev}" if prev else "in the model's own code"
            r = row("gap", "output", ty, self.nr.forced_y, self.tol)
            self.rows.append(r)
            self._judge(r, "gap", "output", where, (len(self.tr.calls), len(self.nr.forced)), 2,
                        f"the code {where} (a head, a pooling, the output's layout) differs")

    def ranked(self) -> list[Cause]:
        order = {c.name: k for k, c in enumerate(self.tr.calls)}
        failing = [c for c in self.causes if c.fails]
        failing.sort(key=lambda c: (*_severity(c), order.get(c.path, len(order)), c.kind != "gap"))
        precision = [c for c in self.causes if not c.fails]
        return failing + precision

    def internal_tolerance(self) -> float:
        """The coarsest arithmetic a twin was found to use: end-to-end rows are held to it."""
        return max([self.tol] + [c.tolerance for c in self.causes if c.kind == "precision"])


def calls_by_name(calls: list[Call]) -> dict[str, Call]:
    return {c.name: c for c in calls}
