"""Correct twins pass at the bounds (float64 1e-12 with optimizer steps, float32 1e-5); the caller's objects stay as they were."""

import copy as pycopy

import numpy as np
import pytest
import torch
from flax import nnx

from equivalence import port
from equivalence.port.numerics import global_flags

from . import planted, zoo

# One worker runs every zoo test of equivalence.port: the NNX side's operations compile once for all of them.
pytestmark = pytest.mark.xdist_group("port-zoo")

OPTIMIZERS = {  # Adam divides by sqrt(v): attention's exactly-zero key-bias gradient would make noise move
    "mlp": lambda p: torch.optim.Adam(p, lr=0.01),
    "cnn": lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9),
    "block": lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9),
}


# The quick suite checks one zoo model per dtype end to end (the HF zoo and the planted table cover the layers);
# the cnn and the block, ~9 CPU-s more, run with --full.
ONE_QUICK = [pytest.param(m, marks=[] if m == "mlp" else [pytest.mark.slow]) for m in ("mlp", "cnn", "block")]


@pytest.mark.parametrize("model", ONE_QUICK)
def test_a_correct_twin_matches_to_1e12_in_float64_through_three_optimizer_steps(model):
    t, twin = planted.models(model)
    report = port.compare(t, twin, **zoo.inputs(model), optimizer=OPTIMIZERS[model](t.parameters()), steps=3,
                          train=model == "cnn")
    assert report.passed, str(report)
    quantities = {r["quantity"] for r in report.rows}
    assert {"layer", "output", "loss", "grad", "step 1", "step 2", "step 3"} <= quantities
    assert report.worst() <= 1e-12 and report.first_divergence is None and report.first_bad_step is None


@pytest.mark.parametrize("model", ONE_QUICK)
def test_a_correct_twin_matches_to_1e5_in_float32(model):
    t, twin = planted.models(model)
    report = port.compare(t, twin, **zoo.inputs(model), dtype="float32")
    assert report.passed, str(report)
    assert 0 < report.worst() <= 1e-5


def _snapshot(t, twin):
    return ({k: v.clone() for k, v in t.state_dict().items()}, t.training,
            {k: np.array(v) for k, v in nnx.to_flat_state(nnx.state(twin))},
            twin.bn1.use_running_average, global_flags())


def test_the_callers_models_dtypes_modes_and_global_flags_are_left_as_they_were():
    t, twin = planted.models("cnn")
    t, twin = pycopy.deepcopy(t).train(), nnx.clone(twin)  # a twin with its own (non-torch) weights
    twin.bn1.use_running_average = False
    before = _snapshot(t, twin)
    port.compare(t, twin, **zoo.inputs("cnn"), optimizer=torch.optim.SGD(t.parameters(), lr=0.1), train=True,
                 dtype="float32")
    after = _snapshot(t, twin)
    assert before[0].keys() == after[0].keys()
    assert all(torch.equal(before[0][k], after[0][k]) and before[0][k].dtype == after[0][k].dtype for k in before[0])
    assert before[1:2] == after[1:2] and before[3:] == after[3:]
    assert all(np.array_equal(before[2][k], after[2][k]) and before[2][k].dtype == after[2][k].dtype
               for k in before[2])


def test_dropout_in_train_mode_is_refused():
    t, twin = planted.models("mlp")
    t = torch.nn.Sequential(pycopy.deepcopy(t), torch.nn.Dropout(0.1))
    two = nnx.Sequential(nnx.clone(twin), nnx.Dropout(0.1, rngs=nnx.Rngs(0)))
    with pytest.raises(port.PortError, match="dropout 0.1 in train mode"):
        port.compare(t, two, zoo.inputs("mlp")["x"], train=True)


@pytest.mark.parametrize("kwargs, message", [
    ({"dtype": "float16"}, "dtype='float16'"),
    ({"x": [1.0, 2.0]}, "x is a list"),
    ({"loss": torch.nn.MSELoss()}, "target and loss together"),
    ({"steps": 0}, "steps=0"),
    ({"target": np.zeros((4, 3)), "loss": torch.nn.CTCLoss()}, "loss: CTCLoss"),
], ids=["dtype", "x-not-numpy", "loss-without-target", "steps", "untranslatable-loss"])
def test_bad_arguments_are_refused_with_one_line(kwargs, message):
    t, twin = planted.models("mlp")
    args = {"x": zoo.inputs("mlp")["x"], **kwargs}
    with pytest.raises(port.PortError) as err:
        port.compare(t, twin, **args)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_assert_equivalent_raises_with_the_report_and_the_report_reads_as_table_and_json():
    import json

    case = planted.BY_NAME["layernorm_epsilon"]
    t, _ = planted.models("mlp")
    with pytest.raises(AssertionError, match=r"first divergence: ln \(entered in ln\)"):
        port.assert_equivalent(t, planted.planted_twin(case), zoo.inputs("mlp")["x"])
    report = planted.report(case.name)
    text = str(report)
    assert "NOT EQUAL" in text and "ln: eps/epsilon: torch 1e-05, flax 1e-06" in text
    data = json.loads(report.to_json())
    assert data["passed"] is False and data["first_divergence"] == "ln"
    assert {"quantity", "name", "rel_err", "max_abs", "tol", "passed"} <= set(data["rows"][0])
