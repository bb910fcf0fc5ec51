"""Weights three ways: copied through the rules, a twin already loaded (each key named), a state_dict or .safetensors loaded."""

import numpy as np
import pytest
from flax import nnx

from equivalence import port

from . import planted, zoo

# One worker runs every zoo test of equivalence.port: the NNX side's operations compile once for all of them.
pytestmark = pytest.mark.xdist_group("port-zoo")


def _loaded_twin():
    t, twin = planted.models("mlp")
    twin = nnx.clone(twin)
    port.copy_weights(t, twin)
    return t, twin


def test_a_loaded_twin_is_checked_as_it_is_and_a_wrong_tensor_is_named_by_its_key():
    t, twin = _loaded_twin()
    x = zoo.inputs("mlp")["x"]
    report = port.compare(t, twin, x, weights="loaded")
    assert report.passed and any(r.quantity == "weight" for r in report.rows), str(report)
    twin.ln.scale[...] = twin.ln.scale[...] * 1.01
    report = port.compare(t, twin, x, weights="loaded")
    assert not report.passed
    top = report.causes[0]
    assert top.kind == "weight" and top.where == "in ln:scale" and "mismatched: ln.scale" in top.message
    fresh = planted.models("mlp")[1]  # its own random weights: every tensor named
    assert {c.where for c in port.compare(t, fresh, x, weights="loaded").causes if c.kind == "weight"} >= {
        "in fc1:kernel", "in fc2:kernel"}


def test_a_state_dict_or_a_safetensors_file_loads_through_the_rules_and_prints_its_mapping(tmp_path):
    from safetensors.torch import save_file

    t, want = _loaded_twin()
    for source in (t.state_dict(), tmp_path / "m.safetensors"):
        if not isinstance(source, dict):
            save_file({k: v.contiguous() for k, v in t.state_dict().items()}, str(source))
        twin = nnx.clone(planted.models("mlp")[1])
        mapping = port.load(twin, source, torch_model=t)
        assert all(np.array_equal(a, b) for (_, a), (_, b) in zip(nnx.to_flat_state(nnx.state(twin)),
                                                                  nnx.to_flat_state(nnx.state(want))))
        text = str(mapping)
        assert "torch key" in text and "fc1.weight" in text and "Linear: (8, 6) -> (6, 8)" in text
    with pytest.raises(port.PortError, match=r"^load: 'fc2.bias' is missing"):
        port.load(twin, {k: v for k, v in t.state_dict().items() if k != "fc2.bias"}, torch_model=t)
    with pytest.raises(port.PortError, match="never opened"):
        port.load(twin, tmp_path / "m.bin", torch_model=t)


def test_bad_weights_mode_is_refused():
    t, twin = planted.models("mlp")
    with pytest.raises(port.PortError, match="weights='mine'"):
        port.compare(t, twin, np.ones((2, 6)), weights="mine")
