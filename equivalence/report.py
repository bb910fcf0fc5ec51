"""The check's report: one table row per stage x quantity x pair, or one JSON object."""

from __future__ import annotations

import json
import math


def as_json(results: list[dict], setup) -> str:
    def clean(v):  # JSON has no inf/nan: a missing or exploding value is reported as null
        return None if isinstance(v, float) and not math.isfinite(v) else v

    return json.dumps({
        "passed": all(r["passed"] for r in results),
        "device": setup.device, "dtype": setup.dtype, "precision": setup.precision, "steps": setup.steps,
        "results": [{k: clean(v) for k, v in r.items()} for r in results],
    }, indent=2)


def print_table(results: list[dict], setup) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"equivalence on {setup.device}, {setup.dtype}, matmul precision "
                        f"{setup.precision}, {setup.steps} steps, lr {setup.lr:g}")
    for col in ("stage", "quantity", "pair", "rel_err", "max_abs", "tol", "first bad step", "pass"):
        table.add_column(col, justify="right" if col in ("rel_err", "max_abs", "tol") else "left")
    for r in results:
        bad = "" if r["first_bad_step"] is None else str(r["first_bad_step"])
        table.add_row(r["stage"], r["quantity"], r["pair"], f"{r['rel_err']:.2e}", f"{r['max_abs']:.2e}",
                      f"{r['tol']:.0e}", bad, "[green]pass[/]" if r["passed"] else "[red]FAIL[/]")
    console = Console(width=max(Console().width, 110))  # rich assumes 80 columns in a pipe
    console.print(table)
    failed = sum(not r["passed"] for r in results)
    console.print(f"{len(results) - failed} passed, {failed} failed")
