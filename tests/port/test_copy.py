"""copy_weights pairs leaves by path through the rule registry, both ways, and refuses what it cannot pair in one line."""

import copy as pycopy

import numpy as np
import pytest
import torch
from flax import nnx
from torch import nn

from equivalence import port

from . import planted

# One worker runs every zoo test of equivalence.port: the NNX side's operations compile once for all of them.
pytestmark = pytest.mark.xdist_group("port-zoo")


def test_copy_weights_pairs_every_leaf_and_copy_weights_to_torch_restores_the_state_dict():
    t, twin = planted.models("cnn")
    twin = nnx.clone(twin)
    assert port.copy_weights(t, twin) == [("conv1", "conv1", "Conv"), ("bn1", "bn1", "BatchNorm"),
                                          ("conv2", "conv2", "Conv"), ("gn2", "gn2", "GroupNorm"),
                                          ("fc", "fc", "Linear")]
    other = pycopy.deepcopy(t)
    with torch.no_grad():
        for p in list(other.parameters()) + [other.bn1.running_mean, other.bn1.running_var]:
            p.add_(1.0)
    port.copy_weights_to_torch(other, twin)
    assert all(torch.equal(a, b) for a, b in zip(t.state_dict().values(), other.state_dict().values()))


def test_a_layer_with_a_rule_is_one_leaf_and_sequential_paths_match():
    torch_model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.MultiheadAttention(8, 2, batch_first=True))
    rngs = nnx.Rngs(0)
    twin = nnx.Sequential(nnx.Linear(4, 8, rngs=rngs), nnx.relu,
                          nnx.MultiHeadAttention(2, 8, decode=False, rngs=rngs))
    assert port.copy_weights(torch_model, twin) == [("0", "layers.0", "Linear"),
                                                    ("2", "layers.2", "MultiheadAttention")]


class Scale(nn.Module):
    def __init__(self):
        super().__init__()
        self.s = nn.Parameter(torch.arange(3.0))

    def forward(self, x):
        return x * self.s


class NnxScale(nnx.Module):
    def __init__(self):
        self.s = nnx.Param(np.zeros(3, np.float32))

    def __call__(self, x):
        return x * self.s[...]


def test_a_user_rule_is_used_and_a_layer_without_one_is_refused_naming_it():
    with pytest.raises(port.PortError, match=r"^scale: Scale holds parameters .* register one"):
        port.copy_weights(_Wrap(Scale()), _NnxWrap(NnxScale()))
    rule = port.register(port.Rule("Scale", (Scale,), (NnxScale,), lambda m, t: {"s": t["s"]},
                                   lambda m, a: {"s": a["s"]}))
    try:
        twin = _NnxWrap(NnxScale())
        assert port.copy_weights(_Wrap(Scale()), twin) == [("scale", "scale", "Scale")]
        assert np.array_equal(twin.scale.s[...], [0.0, 1.0, 2.0])
    finally:
        port.RULES.remove(rule)


class _Wrap(nn.Module):
    def __init__(self, scale):
        super().__init__()
        self.scale = scale


class _NnxWrap(nnx.Module):
    def __init__(self, scale):
        self.scale = scale


@pytest.mark.parametrize("names, message", [
    (None, r"^fc: torch Linear has no NNX partner \(NNX path 'fc' not found, .*\); give its NNX path with names="),
    ({"fc": "head"}, r"^fc: torch Linear pairs with NNX LayerNorm at 'head'"),
])
def test_an_unpaired_leaf_is_refused_with_one_line_naming_the_path(names, message):
    torch_model = nn.ModuleDict({"fc": nn.Linear(2, 2)})
    rngs = nnx.Rngs(0)

    class Twin(nnx.Module):
        def __init__(self):
            self.head = nnx.LayerNorm(2, rngs=rngs)

    with pytest.raises(port.PortError, match=message):
        port.copy_weights(torch_model, Twin(), names)


def test_names_maps_a_renamed_layer():
    torch_model = nn.ModuleDict({"fc": nn.Linear(2, 3)})

    class Twin(nnx.Module):
        def __init__(self):
            self.dense = nnx.Linear(2, 3, rngs=nnx.Rngs(0))

    twin = Twin()
    assert port.copy_weights(torch_model, twin, names={"fc": "dense"}) == [("fc", "dense", "Linear")]
    assert np.array_equal(twin.dense.kernel[...], torch_model["fc"].weight.detach().numpy().T)
