"""Every CPU configuration of PyTorch's own optimizer tests (optim_db) matches, or is refused for a documented reason."""

import contextlib
import os
from pathlib import Path

import jax
import numpy as np
import pytest
import torch

from equivalence.translate import matrix, suite
from equivalence.translate.displacement import MIN_HORIZON
from equivalence.translate.torchsuite import suite_configs

# The module fixture runs torch's whole optimizer database once; on one worker it is not run three times.
pytestmark = pytest.mark.xdist_group("torch-suite")

DOCS = Path(__file__).resolve().parents[2] / "docs" / "translate.md"
# Each refusal is justified in docs/translate.md ("Refused from torch's suite").
REFUSED = {"LBFGS", "Muon", "SparseAdam"}
REFUSED_PATHS = {("ASGD", "foreach")}  # one code path of a translated optimizer: torch's multi-tensor ASGD


@pytest.fixture(scope="module")
def configs():
    return suite_configs()


# 20 steps: every configuration's horizon reaches the whole run (measured: 50 of 50, 20 of 20), past MIN_HORIZON, and
# the fixture costs 5.0 CPU-s instead of 7.2 at run_suite's default of 50; --full runs the CLI's 200.
STEPS = 200 if os.environ.get("TESTS_FULL") else 20


@pytest.fixture(scope="module")
def rows(configs):
    return suite.run_suite(configs, steps=STEPS)


def test_every_configuration_matches_at_1e_10_of_the_displacement(rows):
    bad = [f"{r.optimizer} [{r.desc}]: {r.status} {r.rel_err:.2e} {r.reason}" for r in rows
           if r.status not in ("matched", "refused")]
    assert not bad, "\n".join(bad)
    for r in rows:
        if r.status == "matched":
            assert r.rel_err <= suite.SUITE_TOL and r.horizon >= MIN_HORIZON


def test_refusals_are_exactly_the_documented_ones(rows):
    refused = {r.optimizer for r in rows if r.status == "refused" and (r.optimizer, r.impl) not in REFUSED_PATHS}
    assert refused == REFUSED
    assert all(r.status == "refused" for r in rows if r.optimizer in REFUSED or (r.optimizer, r.impl) in REFUSED_PATHS)
    docs = DOCS.read_text()
    section = docs[docs.index("### Refused from torch's suite"):]
    for name in REFUSED | {f"{name}` with `{path}=True" for name, path in REFUSED_PATHS}:
        assert f"`{name}`" in section


def test_the_suite_is_torchs_whole_cpu_database_with_foreach_and_fused(configs, rows):
    assert len(rows) == len(configs) >= 190
    impls = {(r.optimizer, r.impl) for r in rows}
    for name in ("Adam", "AdamW", "SGD", "Adagrad"):
        assert (name, "fused") in impls
    for name in ("NAdam", "ASGD", "Rprop", "Adafactor", "RMSprop", "RAdam", "Adadelta", "Adamax"):
        assert (name, "foreach") in impls and (name, "plain") in impls
    matched = sum(r.status == "matched" for r in rows)
    assert matched == len(rows) - sum(r.optimizer in REFUSED or (r.optimizer, r.impl) in REFUSED_PATHS for r in rows)


@contextlib.contextmanager
def torch_default_float32():
    """float64 parameters with torch's default dtype left at float32: torch's scalar state is float32."""
    assert torch.get_default_dtype() == torch.float32
    with jax.enable_x64(True), jax.default_matmul_precision("highest"):
        yield


def test_scalar_state_rounds_like_torch_when_its_default_dtype_is_float32(monkeypatch, configs):
    # NAdam's mu_product and ASGD's eta and mu are float32 here even for float64 parameters.
    chosen = [c for c in configs if c.optimizer in ("NAdam", "ASGD") and c.impl == "plain"
              and c.desc in ("default", "decoupled_weight_decay", "maximize, nonzero weight_decay")]
    assert len(chosen) == 4
    monkeypatch.setattr(suite, "float64", torch_default_float32)
    rows = suite.run_suite(chosen, steps=20)
    assert {r.status for r in rows} == {"matched"}, [(r.desc, r.rel_err) for r in rows]


def test_matrix_torch_suite_rows(monkeypatch):
    fake = [suite.SuiteRow("Adam", "default", "plain", "matched", 1e-15, 200, ""),
            suite.SuiteRow("LBFGS", "default", "plain", "refused", np.nan, None, "closure"),
            suite.SuiteRow("NAdam", "default", "plain", "wrong", 1e-8, 200, "")]
    monkeypatch.setattr(suite, "run_suite", lambda steps: fake)
    rows = matrix.run_torch_suite(steps=200)
    assert [r["passed"] for r in rows] == [True, True, False]
    assert [r["status"] for r in rows] == ["matched", "refused", "wrong"]
    assert "refused: closure" in rows[1]["config"] and rows[0]["horizon"] == 200
