"""The result of a port check: rows of measured errors, where the twins first part, a table and JSON."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field

import numpy as np

from .lint import Finding


def row(quantity: str, name: str, reference, other, tol: float, scale=None) -> dict:
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
    return {"quantity": quantity, "name": name, "rel_err": rel, "max_abs": mx, "tol": tol,
            "passed": bool(rel <= tol), "note": note}


def _number(v):
    return v if not isinstance(v, float) or math.isfinite(v) else str(v)


@dataclass
class Report:
    """Every compared quantity; ``passed`` only when every row is within its tolerance."""

    dtype: str
    tol: float
    rows: list[dict] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    first_divergence: str | None = None
    entered: str | None = None  # where the difference enters: "in fc1", "between conv2 and fc", ...
    first_bad_step: int | None = None
    errors: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return bool(self.rows) and not self.errors and all(r["passed"] for r in self.rows)

    def worst(self, quantity_prefix: str = "") -> float:
        """The largest rel_err among rows whose quantity starts with the prefix (0.0 if none)."""
        errs = [r["rel_err"] for r in self.rows if r["quantity"].startswith(quantity_prefix)]
        return max(errs, default=0.0, key=lambda e: math.inf if math.isnan(e) else e)

    def _shown(self) -> list[dict]:
        # every forward/gradient row; per optimizer step only the worst row and any failing one
        out, steps = [], {}
        for r in self.rows:
            if r["quantity"].startswith("step"):
                best = steps.get(r["quantity"])
                if not r["passed"]:
                    out.append(r)
                elif best is None or r["rel_err"] > best["rel_err"]:
                    steps[r["quantity"]] = r
            else:
                out.append(r)
        return out + [r for r in steps.values() if r not in out]

    def __str__(self) -> str:
        shown = self._shown()
        w = max([len(r["name"]) for r in shown] + [4])
        lines = [f"port check, {self.dtype}, tolerance {self.tol:.0e} (relative to the torch value; "
                 "optimizer steps relative to the displacement)",
                 f"{'quantity':<10} {'name':<{w}} {'rel_err':>9} {'max_abs':>9}  result"]
        for r in shown:
            verdict = "ok" if r["passed"] else "FAIL"
            note = f"  ({r['note']})" if r.get("note") else ""
            lines.append(f"{r['quantity']:<10} {r['name']:<{w}} {r['rel_err']:9.1e} {r['max_abs']:9.1e}  "
                         f"{verdict}{note}")
        lines += [f"error: {e}" for e in self.errors]
        lines.append(f"verdict: {'EQUAL' if self.passed else 'NOT EQUAL'}")
        if self.first_divergence is not None or self.entered is not None:
            lines.append(f"first divergence: {self.first_divergence} (entered {self.entered})")
        if self.first_bad_step is not None:
            lines.append(f"first bad optimizer step: {self.first_bad_step}")
        if self.findings:
            lines.append("lint (settings that differ by default):")
            lines += [f"  {f}" for f in self.findings]
        return "\n".join(lines)

    def to_json(self) -> str:
        rows = [{k: _number(v) for k, v in r.items()} for r in self.rows]
        return json.dumps({"passed": self.passed, "dtype": self.dtype, "tol": self.tol,
                           "first_divergence": self.first_divergence, "entered": self.entered,
                           "first_bad_step": self.first_bad_step, "errors": self.errors, "rows": rows,
                           "findings": [{**f._asdict(), "torch": repr(f.torch), "flax": repr(f.flax),
                                         "line": str(f)} for f in self.findings]})
