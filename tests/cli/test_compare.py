"""--compare says its verdict in one line: weights' difference, test predictions, expected or a surprise."""

import pytest

from tests.cli.helpers import run
from training import verdict


def test_compare_prints_one_verdict_line_and_exits_0(capsys, tmp_path):
    code, out, err = run(capsys, "torch", "--stage", "mlp", "--data", "iris", "--hidden", "8", "--steps", "40",
                         "--dtype", "float32", "--compare", "--out", str(tmp_path / "r"))
    assert code == 0, err
    lines = [line for line in out.splitlines() if line.startswith("compare:")]
    assert len(lines) == 1, out
    assert "weights differ from jax's by" in lines[0] and "float32 expectation" in lines[0]
    assert "of 45 test predictions differ" in lines[0] or "all 45 test predictions agree" in lines[0]


CASES = {  # name: (weights' rel err, nudge drift, surprise?)
    "as close as a nudge": (3e-3, 1e-3, False),
    "a decade past a chaotic nudge": (5e-2, 1e-3, True),
    "contracting run, rounding only": (1e-6, 0.0, False),
    "contracting run, a real bias": (1e-3, 0.0, True),
}


@pytest.mark.parametrize("case", CASES)
def test_the_verdict_names_a_surprise_only_beyond_what_a_nudge_explains(case):
    rel, drift, surprise = CASES[case]
    c = {"weights_rel_err": rel, "nudge_drift": drift, "test_predictions_differ": 2, "test_predictions": 45,
         "nudge_predictions_differ": 1, **verdict.judge(rel, drift, "float32")}
    assert c["surprise"] == surprise
    text = verdict.line(c, "float32", "jax")
    assert ("SURPRISE" in text) == surprise and "2 of 45 test predictions differ" in text and "\n" not in text


def test_a_nudge_moves_every_float_by_one_ulp_and_nothing_else():
    import numpy as np

    state = {"w": np.array([0.0, 1.0, -2.5], np.float32), "step": np.array(3)}
    moved = verdict.nudged(state)
    assert moved["w"].dtype == np.float32 and np.all(moved["w"] > state["w"])
    assert np.all(np.nextafter(state["w"], np.inf) == moved["w"]) and moved["step"] == 3
