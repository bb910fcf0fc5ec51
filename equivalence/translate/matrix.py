"""`equivalence matrix [--json]`: measure every supported translation against torch and tabulate."""

from __future__ import annotations

import json
import math
import sys
import warnings

from training.cli import Parser

from .cases import all_cases
from .compare import float64


def run_matrix() -> list[dict]:
    """One row per configuration, measured now by running torch and the translation in float64."""
    rows = []
    with float64(), warnings.catch_warnings():
        # Torch warns about deprecated/legacy scheduler paths; they are what we measure.
        warnings.simplefilter("ignore", UserWarning)
        for case in all_cases():
            err, reach = case.measure()
            err = float(err)
            rows.append(
                {
                    "kind": case.kind,
                    "name": case.name,
                    "config": case.config,
                    "steps": case.steps,
                    "horizon": reach,
                    "rel_err": err,
                    "tol": case.tol,
                    # NaN compares false, so a NaN error fails rather than passes.
                    "passed": bool(err <= case.tol),
                }
            )
    return rows


def run_torch_suite(steps: int = 200) -> list[dict]:
    """One row per configuration of torch's own optimizer tests (optim_db) on the CPU.

    A refusal (each one justified in docs/translate.md) passes; a wrong or
    crashed configuration fails.
    """
    from .suite import SUITE_TOL, run_suite

    rows = []
    for r in run_suite(steps=steps):
        config = r.desc if r.status != "refused" else f"{r.desc} (refused: {r.reason})"
        rows.append(
            {
                "kind": "torch-suite",
                "name": r.optimizer,
                "config": config,
                "steps": steps,
                "horizon": r.horizon,
                "rel_err": r.rel_err,
                "tol": SUITE_TOL,
                "status": r.status,
                "passed": r.status in ("matched", "refused"),
            }
        )
    return rows


def _json_safe(value: float):
    return value if math.isfinite(value) else str(value)


def _horizon(row: dict) -> str:
    return "-" if row.get("horizon") is None else str(row["horizon"])


def _print_table(rows: list[dict]) -> None:
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:  # plain text fallback
        print(f"{'kind':<10} {'name':<22} {'steps':>5} {'horizon':>7} {'rel_err':>9} {'tol':>7}  ok  config")
        for r in rows:
            ok = "yes" if r["passed"] else "NO"
            numbers = f"{r['steps']:>5} {_horizon(r):>7} {r['rel_err']:>9.1e} {r['tol']:>7.0e}"
            print(f"{r['kind']:<10} {r['name']:<22} {numbers}  {ok:<3} {r['config']}")
        return
    table = Table(
        title="torch -> optax/jax translations, float64: error relative to the displacement "
        "(losses: to the value), worst step within the horizon"
    )
    numeric = ("steps", "horizon", "rel_err", "tol")
    for column in ("kind", "name", "config", *numeric, "ok"):
        table.add_column(column, justify="right" if column in numeric else "left")
    for r in rows:
        ok = "[green]yes[/green]" if r["passed"] else "[red]NO[/red]"
        numbers = (str(r["steps"]), _horizon(r), f"{r['rel_err']:.1e}", f"{r['tol']:.0e}")
        table.add_row(r["kind"], r["name"], r["config"], *numbers, ok)
    Console(width=max(Console().width, 110)).print(table)  # rich assumes 80 columns in a pipe


def main(argv: list[str] | None = None) -> int:
    """Exit status: 0 when every configuration passes, 1 when one fails, 2 on bad arguments."""
    parser = Parser(  # one-line errors, exit 2, like every command of the project
        prog="equivalence matrix",
        description="Run every supported torch -> optax/jax translation side by side with torch "
        "(float64) and report the relative error of each.",
    )
    parser.add_argument(
        "--json", action="store_true", help='print one JSON object {"passed": bool, "results": [...]}'
    )
    parser.add_argument(
        "--torch-suite",
        action="store_true",
        help="also run every CPU configuration of torch's own optimizer tests (optim_db), 200 steps each",
    )
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # argparse exits 2 on bad arguments, 0 on --help
        return int(exit_.code or 0)
    rows = run_matrix()
    if args.torch_suite:
        rows += run_torch_suite()
    passed = all(r["passed"] for r in rows)
    if args.json:
        results = [{**r, "rel_err": _json_safe(r["rel_err"])} for r in rows]
        print(json.dumps({"passed": passed, "results": results}))
    else:
        _print_table(rows)
        failed = sum(not r["passed"] for r in rows)
        refused = sum(r.get("status") == "refused" for r in rows)
        if refused:
            print(f"{refused} torch-suite configurations refused (each justified in docs/translate.md)")
        print(
            f"{len(rows)} configurations, {failed} failed"
            if failed
            else f"{len(rows)} configurations, all passed"
        )
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
