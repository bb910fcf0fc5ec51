"""The result of a port check: measured rows, ranked causes (each leaf's and gap's own error), a table and JSON."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field

import numpy as np

from .lint import Finding


@dataclass
class Row:
    quantity: str  # leaf, gap (teacher-forced, local); layer (accumulated); output, loss, grad, step k, state, weight
    name: str
    rel_err: float
    max_abs: float
    tol: float
    passed: bool
    note: str = ""
    decides: bool = True  # False: shown, not part of the verdict (accumulated rows, explained precision)

    def __getitem__(self, key: str):  # rows read as dicts in older code
        return getattr(self, key)


def row(quantity: str, name: str, reference, other, tol: float, scale=None, decides: bool = True) -> Row:
    """||other - reference|| / ||scale|| (scale defaults to the reference), max |difference|, pass/fail."""
    ref = None if reference is None else np.asarray(reference, dtype=np.float64)
    oth = None if other is None else np.asarray(other, dtype=np.float64)
    note = ""
    if ref is None or oth is None:
        rel, mx, note = math.inf, math.inf, "not computed on one side"
    elif ref.shape != oth.shape:
        rel, mx, note = math.inf, math.inf, f"shape torch {ref.shape} vs NNX {oth.shape}"
    else:
        diff = oth - ref
        mx = float(np.max(np.abs(diff))) if diff.size else 0.0
        d = float(np.linalg.norm(diff))
        s = float(np.linalg.norm(ref if scale is None else scale))
        rel = d / s if s > 0 else (0.0 if d == 0 else math.inf)
        if not np.all(np.isfinite(oth)):
            rel, note = math.nan, "NaN or inf in NNX"
    return Row(quantity, name, rel, mx, tol, bool(rel <= tol), note, decides)


@dataclass(frozen=True)
class Cause:
    """One place that makes a difference: a leaf's or a gap's own error, a named precision cause, or a note."""

    kind: str  # leaf, gap, precision, note; output, grad, state, step, weight (end to end)
    path: str  # the torch leaf (for a gap: the leaf that receives it)
    error: float
    tolerance: float
    message: str
    where: str = ""  # "in ln", "between ln and fc2", "in the gradient of embed"

    @property
    def fails(self) -> bool:
        return self.kind not in ("precision", "note")

    def __str__(self) -> str:
        size = ("" if self.kind == "note" else f"{self.error:.1e} (within {self.tolerance:.0e})"
                if self.kind == "precision" else f"{self.error:.1e} > {self.tolerance:.0e}")
        return f"{self.kind:<9} {self.where or self.path}: {size}{'; ' if size else ''}{self.message}"


def _number(v):
    return v if not isinstance(v, float) or math.isfinite(v) else str(v)


@dataclass
class Report:
    """Every compared quantity and the causes; ``passed`` when no cause fails and no deciding row does."""

    dtype: str
    tol: float
    rows: list[Row] = field(default_factory=list)
    causes: list[Cause] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    pairing: str = ""
    first_bad_step: int | None = None
    errors: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return (bool(self.rows) and not self.errors and not any(c.fails for c in self.causes)
                and all(r.passed for r in self.rows if r.decides))

    @property
    def top(self) -> Cause | None:
        """The top-ranked cause that fails the verdict (None when the twins agree)."""
        return next((c for c in self.causes if c.fails), None)

    @property
    def first_divergence(self) -> str | None:
        return None if self.top is None else self.top.path

    @property
    def entered(self) -> str | None:
        return None if self.top is None else self.top.where

    def worst(self, quantity_prefix: str = "") -> float:
        """The largest rel_err among rows whose quantity starts with the prefix (0.0 if none)."""
        errs = [r.rel_err for r in self.rows if r.quantity.startswith(quantity_prefix)]
        return max(errs, default=0.0, key=lambda e: math.inf if math.isnan(e) else e)

    def _shown(self) -> list[Row]:
        # forward, gradient and local rows; per optimizer step only the worst row and any failing one
        out, steps = [], {}
        for r in self.rows:
            if r.quantity.startswith(("step", "defect")):
                best = steps.get(r.quantity)
                if not r.passed:
                    out.append(r)
                elif best is None or r.rel_err > best.rel_err:
                    steps[r.quantity] = r
            elif r.quantity not in ("leaf", "gap") or not r.passed:
                out.append(r)
        return out + [r for r in steps.values() if r not in out]

    def __str__(self) -> str:
        shown = self._shown()
        w = max([len(r.name) for r in shown] + [4])
        local = [r for r in self.rows if r.quantity in ("leaf", "gap")]
        lines = [(f"port check, {self.dtype}, tolerance {self.tol:.0e} (relative to the torch value; "
                  "optimizer steps relative to the displacement)"),
                 f"{'quantity':<10} {'name':<{w}} {'rel_err':>9} {'max_abs':>9}  result"]
        for r in shown:
            verdict = "ok" if r.passed else "FAIL" if r.decides else "(shown)"
            note = f"  ({r.note})" if r.note else ""
            lines.append(f"{r.quantity:<10} {r.name:<{w}} {r.rel_err:9.1e} {r.max_abs:9.1e}  {verdict}{note}")
        if local:
            worst = max(local, key=lambda r: -1 if math.isnan(r.rel_err) else r.rel_err)
            lines.append(f"each leaf on torch's input, each gap on torch's outputs (teacher forcing): {len(local)} "
                         f"local errors, the largest {worst.rel_err:.1e} ({worst.quantity} {worst.name})")
        lines += [f"error: {e}" for e in self.errors]
        lines.append(f"verdict: {'EQUAL' if self.passed else 'NOT EQUAL'}")
        if self.causes:
            lines.append("causes, ranked:")
            lines += [f"  {c}" for c in self.causes]
        if self.top is not None:
            lines.append(f"first divergence: {self.first_divergence} (entered {self.entered})")
        if self.first_bad_step is not None:
            lines.append(f"first bad optimizer step: {self.first_bad_step}")
        if self.findings:
            lines.append("lint (settings that differ by default):")
            lines += [f"  {f}" for f in self.findings]
        return "\n".join(lines)

    def to_json(self) -> str:
        rows = [{k: _number(v) for k, v in asdict(r).items()} for r in self.rows]
        causes = [{**{k: _number(v) for k, v in asdict(c).items()}, "fails": c.fails} for c in self.causes]
        return json.dumps({"passed": self.passed, "dtype": self.dtype, "tol": self.tol,
                           "first_divergence": self.first_divergence, "entered": self.entered,
                           "first_bad_step": self.first_bad_step, "errors": self.errors, "causes": causes,
                           "rows": rows, "pairing": self.pairing,
                           "findings": [{**f._asdict(), "torch": repr(f.torch), "flax": repr(f.flax),
                                         "line": str(f)} for f in self.findings]})
