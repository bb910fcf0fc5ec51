"""Lint never crashes, reads HF's classes, pads only where SAME pads, and labels train-only findings."""

import functools

import jax
import pytest
import torch
from flax import nnx
from torch import nn

from equivalence import port

from . import planted

# One worker runs every zoo test of equivalence.port: the NNX side's operations compile once for all of them.
pytestmark = pytest.mark.xdist_group("port-zoo")


class NewGELUActivation(nn.Module):
    """Named as HF's tanh GELU (lint reads HF's activation classes by name)."""

    def forward(self, x):
        return nn.functional.gelu(x, approximate="tanh")


class Odd(nn.Module):
    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(2))


class NnxOdd(nnx.Module):
    def __init__(self):
        self.scale = nnx.Param(jax.numpy.ones(2))


def test_hf_gelu_classes_and_rmsnorm_epsilon_names_are_read():
    class LlamaRMSNorm(nn.Module):
        def __init__(self):
            super().__init__()
            self.weight, self.variance_epsilon = nn.Parameter(torch.ones(4)), 1e-6

    t = nn.ModuleDict({"norm": LlamaRMSNorm(), "act": NewGELUActivation()})

    class Twin(nnx.Module):
        def __init__(self):
            self.norm = nnx.RMSNorm(4, epsilon=1e-5, rngs=nnx.Rngs(0))
            self.act = functools.partial(jax.nn.gelu, approximate=False)

    found = {f.option: f for f in port.lint(t, Twin())}
    assert found["eps/epsilon"].torch == 1e-6 and found["approximate"].flax is False


def test_a_rule_reusing_a_builtin_name_and_an_unreadable_module_never_crash_lint():
    rule = port.Rule("Linear", (Odd,), (NnxOdd,), lambda m, t: {"scale": t["weight"]},
                     lambda m, a: {"weight": a["scale"]})
    t = nn.ModuleDict({"odd": Odd(), "act": nn.GELU()})

    class Twin(nnx.Module):
        def __init__(self):
            self.odd, self.act = NnxOdd(), jax.nn.gelu

    try:
        port.register(rule)
        assert [f.option for f in port.lint(t, Twin())] == ["approximate"]
    finally:
        port.RULES.remove(rule)


def test_same_padding_is_flagged_only_where_it_pads_and_a_pad_layer_before_the_conv_counts():
    patchify = nn.ModuleDict({"conv": nn.Conv2d(3, 4, 4, stride=4)})
    padded = nn.ModuleDict({"pad": nn.ZeroPad2d(1), "conv": nn.Conv2d(3, 4, 3)})

    def twin(**kw):
        class Twin(nnx.Module):
            def __init__(self):
                self.conv = nnx.Conv(3, 4, **kw, rngs=nnx.Rngs(0))
        return Twin()

    assert port.lint(patchify, twin(kernel_size=(4, 4), strides=4, padding="SAME")) == []
    assert port.lint(padded, twin(kernel_size=(3, 3), padding=1)) == []
    assert [f.option for f in port.lint(padded, twin(kernel_size=(3, 3), padding=0))] == ["padding"]


def test_running_statistics_findings_are_labelled_train_only():
    case = planted.BY_NAME["batchnorm_momentum"]
    t, _ = planted.models("cnn")
    found = [f for f in port.lint(t, planted.planted_twin(case)) if f.option == "momentum"]
    assert found and found[0].train_only and "(train only)" in str(found[0])
