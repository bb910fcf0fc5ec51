"""Every catalogued configuration meets its bound, and `equivalence matrix` reports it faithfully."""

import json
import sys

import pytest

from equivalence.translate import matrix
from equivalence.translate.cases import LOSS_TOL, TRAJECTORY_TOL, Case, all_cases
from equivalence.translate.suite import run_suite
from equivalence.translate.torchsuite import SuiteConfig

CASES = all_cases()
ALONE = [c for c in CASES if c.spec is None]


@pytest.mark.parametrize("case", ALONE, ids=[f"{c.kind}-{c.name}-{i}" for i, c in enumerate(ALONE)])
def test_case_meets_its_bound(case):
    err, _ = case.measure()
    assert err <= case.tol, f"{case.name} ({case.config}): rel_err {err:.3e} > {case.tol:.0e}"


def test_plain_optimizer_rows_meet_their_bound_measured_together():
    # One compiled program per optimizer class instead of one per row (the CLI measures them one by one).
    together = [c for c in CASES if c.spec is not None]
    configs = [SuiteConfig(cls.__name__, c.config, "plain", cls, kwargs, c.config)
               for c in together for cls, kwargs in [c.spec]]
    rows = run_suite(configs, steps=together[0].steps)
    assert len(rows) == len(together) >= 18
    for case, row in zip(together, rows, strict=True):
        assert row.status == "matched" and row.horizon == case.steps, (case.name, case.config, row)
        assert row.rel_err <= case.tol


def test_a_row_measured_alone_agrees_with_the_batch():
    case = next(c for c in CASES if c.spec is not None and c.name == "NAdam")
    err, horizon = case.measure()
    assert err <= case.tol and horizon == case.steps


def test_catalogue_covers_every_kind_with_enough_rows():
    assert len(CASES) >= 30
    kinds = {c.kind for c in CASES}
    assert kinds == {"optimizer", "scheduler", "loss", "clip"}
    names = {c.name for c in CASES}
    for required in (
        "SGD",
        "Adam",
        "AdamW",
        "Adagrad",
        "RMSprop",
        "Adamax",
        "NAdam",
        "RAdam",
        "Adadelta",
        "StepLR",
        "MultiStepLR",
        "ExponentialLR",
        "CosineAnnealingLR",
        "LinearLR",
        "ConstantLR",
        "OneCycleLR",
        "SequentialLR",
        "MSELoss",
        "L1Loss",
        "HuberLoss",
        "SmoothL1Loss",
        "CrossEntropyLoss",
        "BCEWithLogitsLoss",
        "NLLLoss",
        "clip_grad_norm_",
    ):
        assert required in names
    for c in CASES:
        assert c.steps >= (200 if c.kind != "loss" else 1)
        assert c.tol == (LOSS_TOL if c.kind == "loss" else TRAJECTORY_TOL)


def _fake(name, err, kind="loss"):
    return Case(kind, name, "fake", 1, LOSS_TOL, lambda: (err, None))


def test_main_json_reports_rows_and_exit_code(monkeypatch, capsys):
    real = [c for c in CASES if c.kind == "loss"][:2]
    monkeypatch.setattr(matrix, "all_cases", lambda: real)
    assert matrix.main(["--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["passed"] is True
    assert [r["name"] for r in out["results"]] == [c.name for c in real]
    for row in out["results"]:
        assert set(row) == {"kind", "name", "config", "steps", "horizon", "rel_err", "tol", "passed"}
        assert 0 <= row["rel_err"] <= row["tol"] and row["passed"] is True


def test_main_fails_on_a_bad_row_including_nan(monkeypatch, capsys):
    monkeypatch.setattr(
        matrix, "all_cases", lambda: [_fake("ok", 0.0), _fake("off", 1e-3), _fake("nan", float("nan"))]
    )
    assert matrix.main(["--json"]) == 1
    out = json.loads(capsys.readouterr().out)
    assert out["passed"] is False
    assert [r["passed"] for r in out["results"]] == [True, False, False]
    assert out["results"][2]["rel_err"] == "nan"  # JSON has no NaN literal


def test_main_prints_a_table(monkeypatch, capsys):
    monkeypatch.setattr(matrix, "all_cases", lambda: [_fake("first-row", 0.0), _fake("second-row", 1.0)])
    assert matrix.main([]) == 1
    text = capsys.readouterr().out
    assert "first-row" in text and "second-row" in text and "1 failed" in text


def test_main_plain_text_without_rich(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "rich.console", None)  # makes `import rich.console` fail
    monkeypatch.setattr(matrix, "all_cases", lambda: [_fake("only-row", 0.0)])
    assert matrix.main([]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["kind", "name", "steps", "horizon", "rel_err", "tol", "ok", "config"]
    assert lines[1].split()[:2] == ["loss", "only-row"] and "yes" in lines[1]
    assert lines[-1] == "1 configurations, all passed"


def test_main_bad_arguments_exit_2_with_one_line(capsys):
    assert matrix.main(["--no-such-flag"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--no-such-flag" in err
