"""Run port.compare on a set of families as a user would, and print one table: lines, verdicts, blame, seconds."""

from __future__ import annotations

import importlib
import time
import traceback

import torch

from . import direct, weights
from .cases import Case, user_lines


def _compare(case: Case, bug: str | None, dtype: str, steps: bool, names: bool = True):
    from equivalence import port

    kwargs = case.compare_kwargs() if names else {**case.compare_kwargs(), "names": None}
    if steps:
        kwargs["optimizer"], kwargs["steps"] = torch.optim.SGD(case.torch_model.parameters(), lr=0.1), 3
    else:  # a planted bug is found on the forward
        kwargs = {k: v for k, v in kwargs.items() if k not in ("target", "loss")}
    return port.compare(case.torch_model, weights.build(lambda: case.make_twin(bug=bug)), **kwargs, dtype=dtype)


def _verdict(case: Case, bug: str | None, dtype: str, steps: bool = False) -> str:
    try:
        report = _compare(case, bug, dtype, steps)
    except Exception as err:  # the table records the failure; the traceback's last line says what
        return f"error: {traceback.format_exception_only(err)[-1].strip()[:200]}"
    if bug is None:
        return "EQUAL" if report.passed else f"NOT EQUAL ({report.first_divergence})"
    named = next(b for b in case.bugs if b.name == bug).blamed(report.first_divergence)
    return f"{'named' if named and not report.passed else 'MISSED'}: {report.first_divergence}"


def _without_names(case: Case) -> str:
    """The correct twin's float64 forward with no names=: pairing by structure alone, or its one-line refusal."""
    try:
        report = _compare(case, None, "float64", steps=False, names=False)
    except Exception as err:
        return f"refused: {str(err)[:90]}"
    lines = user_lines(case) - len(case.names)
    return f"EQUAL ({lines} lines)" if report.passed else f"NOT EQUAL ({report.first_divergence})"


def rows(package: str, families: tuple[str, ...]) -> list[list[str]]:
    """One row per family (its correct twin through 3 SGD steps) and one per planted bug.

    "direct check": the twin's float64 output against HF's, weights copied by hand, no engine (the
    correct twin must be ~1e-16, a bug well above); the verdicts are port.compare's, as a user runs it."""
    out = []
    for family in families:
        start = time.perf_counter()
        case = importlib.import_module(f"{package}.{family}").case()
        out.append([family, "(correct)", f"{direct.error(case):.1e}", str(user_lines(case)),
                    _verdict(case, None, "float64", steps=True), _without_names(case), "",
                    f"{time.perf_counter() - start:.1f}"])
        for bug in case.bugs:
            start = time.perf_counter()
            out.append([family, bug.name, f"{direct.error(case, bug.name):.1e}", "",
                        _verdict(case, bug.name, "float64"), "", _verdict(case, bug.name, "float32"),
                        f"{time.perf_counter() - start:.1f}"])
    return out


def table(package: str, families: tuple[str, ...]) -> str:
    head = ["family", "twin", "direct check (float64)", "user lines", "port.compare float64", "without names=",
            "float32", "seconds"]
    lines = [f"| {' | '.join(head)} |", f"|{' --- |' * len(head)}"]
    lines += [f"| {' | '.join(r)} |" for r in rows(package, families)]
    return "\n".join(lines)


if __name__ == "__main__":
    from .zoo import FAMILIES

    print(table(__package__, FAMILIES))
