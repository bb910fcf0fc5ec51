"""The check's report: one table row per regime x stage x quantity x pair, or one JSON object."""

from __future__ import annotations

import json
import math


def bucket(err: float) -> str:
    """An error as the power of ten just above it: 3.2e-8 -> '< 1e-7'; exactly 0 -> '0'.

    Raw errors differ in their last digits between CPUs (vector widths change summation order);
    a power of ten is what the text can promise on every machine.
    """
    if err == 0:
        return "0"
    if not math.isfinite(err):
        return "∞" if err > 0 else "NaN"
    return f"< 1e{math.floor(math.log10(err)) + 1}"


def as_json(results: list[dict], setup) -> str:
    def clean(v):  # JSON has no inf/nan: a missing or exploding value is reported as null
        return None if isinstance(v, float) and not math.isfinite(v) else v

    return json.dumps({
        "passed": all(r["passed"] for r in results),
        "device": setup.device, "dtype": setup.dtype, "precision": setup.precision, "steps": setup.steps,
        "results": [{k: clean(v) for k, v in r.items()} for r in results],
    }, indent=2)


def horizon_cell(r: dict) -> str:
    if r.get("horizon") is None:
        return ""
    return "whole run" if r["horizon"] >= r["steps"] else f"{r['horizon']} (x{r['growth_per_1000']:.1e}/1000)"


def notes(results: list[dict]) -> list[str]:
    """One line per training run that outlives its horizon, diverges, has a step over its defect bound, or
    whose frameworks separate: what held, and why."""
    lines = []
    for r in results:
        if r["quantity"] != "trajectory":
            continue
        where = f"{r['stage']} ({r['regime']}, lr {r['lr']:g}, {r['steps']} steps)"
        if r["defect_step"] is not None:
            lines.append(f"{where}, {r['pair']}: step {r['defect_step']}'s {r['defect_array']} is not the oracle's step "
                         f"from the same state (defect {r['defect_ulps']:.3g} ulps, bound {r['defect_bound']:g})")
        if r["pair"] != "torch-jax":
            continue
        diverged = r.get("diverged") or [None] * 3
        if any(d is not None for d in diverged):
            steps = {d for d in diverged}
            lines.append(f"{where}: diverged at step {diverged[0]} in all three" if len(steps) == 1 else
                         f"{where}: diverged at steps {diverged} (torch, jax, reference)")
        if r["horizon"] < r["steps"]:
            lines.append(f"{where}: a one-ulp nudge of the oracle leaves tolerance at step {r['horizon']}, growing "
                         f"x{r['growth_per_1000']:.1e} per 1000 steps; losses compared up to it, every step's defect "
                         f"within {r['defect_ulps']:.2g} ulps over the whole run")
        if r.get("separates_at") is not None:
            cause = r.get("separation_cause") or "rounding, amplified by the dynamics"
            lines.append(f"{where}: torch and jax first differ by more than 1e-5 at step {r['separates_at']}: {cause}")
    return lines


def print_table(results: list[dict], setup) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"equivalence on {setup.device}, {setup.dtype}, matmul precision "
                        f"{setup.precision}")
    for col in ("stage", "regime (lr, steps)", "quantity", "pair", "rel_err", "max_abs", "tol", "first bad step", "horizon",
                "defect (ulps)", "pass"):
        table.add_column(col, justify="right" if col in ("rel_err", "max_abs", "tol", "defect (ulps)") else "left")
    for r in results:
        bad = "" if r["first_bad_step"] is None else str(r["first_bad_step"])
        bad = f"{r['defect_step']} (defect)" if not bad and r.get("defect_step") is not None else bad
        table.add_row(r["stage"], f"{r['regime']} {r['lr']:g}, {r['steps']}", r["quantity"], r["pair"],
                      f"{r['rel_err']:.2e}", f"{r['max_abs']:.2e}", f"{r['tol']:.0e}", bad, horizon_cell(r),
                      "" if r.get("defect_ulps") is None else f"{r['defect_ulps']:.2g}",
                      "[green]pass[/]" if r["passed"] else "[red]FAIL[/]")
    console = Console(width=max(Console().width, 170))  # rich assumes 80 columns in a pipe
    console.print(table)
    for line in notes(results):
        console.print(line, highlight=False)
    failed = sum(not r["passed"] for r in results)
    console.print(f"{len(results) - failed} passed, {failed} failed")
