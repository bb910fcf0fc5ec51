"""Each leaf and each gap is measured alone (teacher forcing): precision causes are named, bugs are found beside them."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from flax import nnx
from torch import nn

from equivalence import port

# One worker runs every zoo test of equivalence.port: the NNX side's operations compile once for all of them.
pytestmark = pytest.mark.xdist_group("port-zoo")

Z = {"kernel_init": nnx.initializers.zeros_init()}


class UpcastRMSNorm(nn.Module):
    """HF's LlamaRMSNorm: computes in float32 whatever the input dtype."""

    def __init__(self, n, eps=1e-6):
        super().__init__()
        self.weight, self.variance_epsilon = nn.Parameter(torch.ones(n) + 0.1 * torch.arange(n)), eps

    def forward(self, h):
        dtype = h.dtype
        h = h.to(torch.float32)
        h = h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + self.variance_epsilon)
        return self.weight * h.to(dtype)


class Net(nn.Module):
    """Token ids -> embedding (+ a residual added in place after the hook) -> RMSNorm -> MLP -> head."""

    def __init__(self):
        super().__init__()
        self.embed, self.pos = nn.Embedding(11, 8), nn.Embedding(5, 8)
        self.norm, self.fc1, self.fc2 = UpcastRMSNorm(8), nn.Linear(8, 16), nn.Linear(16, 8)
        self.head = nn.Linear(8, 3)

    def forward(self, ids, scale=1.0):
        h = self.embed(ids)
        h += self.pos(torch.arange(ids.shape[1]))  # in place on embed's recorded output
        h = h + self.fc2(nn.functional.gelu(self.fc1(self.norm(h))))
        return {"logits": self.head(h.mean(1)) * scale, "hidden": h}


class Twin(nnx.Module):
    def __init__(self, approximate=False, epsilon=1e-6):
        rngs = nnx.Rngs(0)
        self.embed = nnx.Embed(11, 8, rngs=rngs)
        self.pos = nnx.Embed(5, 8, rngs=rngs)
        self.norm = nnx.RMSNorm(8, epsilon=epsilon, rngs=rngs)
        self.fc1, self.fc2 = nnx.Linear(8, 16, **Z, rngs=rngs), nnx.Linear(16, 8, **Z, rngs=rngs)
        self.head = nnx.Linear(8, 3, **Z, rngs=rngs)
        self.act = functools.partial(jax.nn.gelu, approximate=approximate)

    def __call__(self, ids, *, deterministic=False, scale=1.0):
        assert deterministic  # a keyword-only argument, given with nnx_kwargs
        h = self.embed(ids) + self.pos.embedding[...][: ids.shape[1]]  # the table read directly
        h = h + self.fc2(self.act(self.fc1(self.norm(h))))
        return {"logits": self.head(h.mean(1)) * scale, "hidden": h}


def _check(twin, **kw):
    torch.manual_seed(0)
    rng, net = np.random.default_rng(0), Net()
    return port.compare(net, twin, rng.integers(0, 11, (4, 5)), target=rng.integers(0, 3, 4),
                        loss=nn.CrossEntropyLoss(), optimizer=torch.optim.SGD(net.parameters(), lr=0.1),
                        nnx_kwargs={"deterministic": True}, **kw)


def test_a_norm_that_upcasts_to_float32_is_named_as_precision_and_a_correct_twin_is_equal_in_float64():
    report = _check(Twin())
    assert report.passed, str(report)
    precision = [c for c in report.causes if c.kind == "precision"]
    assert [c.path for c in precision] == ["norm"] and "torch computes in float32" in precision[0].message
    assert "compare in float32" in precision[0].message
    notes = " ".join(c.message for c in report.causes if c.kind == "note" and c.path == "pos")
    assert "not called on the NNX side" in notes  # the table read directly decides nothing


def test_a_wrong_gelu_after_an_upcasting_norm_is_the_top_cause_in_float64_and_in_float32():
    for dtype in ("float64", "float32"):
        report = _check(Twin(approximate=True), dtype=dtype)
        assert not report.passed, str(report)
        assert report.first_divergence == "fc2" and report.entered == "between fc1 and fc2", str(report)
        assert report.causes[0].kind == "gap" and report.causes[0].error > 1e-5


def test_a_wrong_epsilon_inside_a_norm_that_also_upcasts_is_still_named_in_float64():
    report = _check(Twin(epsilon=1e-3))
    assert not report.passed and report.first_divergence == "norm", str(report)


def test_output_fields_and_per_side_keyword_arguments_reach_each_model():
    ids = np.random.default_rng(0).integers(0, 11, (4, 5))
    for output in ("hidden", lambda out: out["logits"]):
        report = port.compare(Net(), Twin(), ids, output=output, torch_kwargs={"scale": 2.0},
                              nnx_kwargs={"deterministic": True, "scale": 2.0})
        assert report.passed, str(report)
    wrong = port.compare(Net(), Twin(), ids, torch_kwargs={"scale": 2.0}, nnx_kwargs={"deterministic": True})
    assert not wrong.passed and wrong.causes[0].where == "after head"  # the scale is code after the last layer
    with pytest.raises(port.PortError, match="output='nothing'"):
        port.compare(Net(), Twin(), ids, output="nothing", nnx_kwargs={"deterministic": True})


class Rotary(nn.Module):
    """Buffers and no parameters, like HF's rotary embedding: skipped with a note."""

    def __init__(self):
        super().__init__()
        self.register_buffer("inv_freq", torch.arange(4.0))

    def forward(self, h):
        return h * torch.cos(self.inv_freq).repeat(2)


class WithRotary(nn.Module):
    def __init__(self):
        super().__init__()
        self.rotary, self.fc = Rotary(), nn.Linear(8, 2)

    def forward(self, x):
        return self.fc(self.rotary(x))


class NnxWithRotary(nnx.Module):
    def __init__(self):
        self.fc = nnx.Linear(8, 2, **Z, rngs=nnx.Rngs(0))

    def __call__(self, x):
        return self.fc(x * jnp.tile(jnp.cos(jnp.arange(4.0)), 2))


def test_a_module_with_buffers_only_is_skipped_with_a_note():
    report = port.compare(WithRotary(), NnxWithRotary(), np.random.default_rng(0).standard_normal((3, 8)))
    assert report.passed, str(report)
    assert any(c.kind == "note" and c.path == "rotary" and "buffers only" in c.message for c in report.causes)


def test_keyword_inputs_as_a_dict_of_arrays():
    class Two(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 2)

        def forward(self, a, b):
            return self.fc(a * b)

    class NnxTwo(nnx.Module):
        def __init__(self):
            self.fc = nnx.Linear(4, 2, **Z, rngs=nnx.Rngs(0))

        def __call__(self, a, b):
            return self.fc(a * b)

    rng = np.random.default_rng(0)
    report = port.compare(Two(), NnxTwo(), {"a": rng.standard_normal((3, 4)), "b": rng.standard_normal((3, 4))})
    assert report.passed, str(report)


def test_a_twin_that_fails_under_x64_is_refused_with_one_line_naming_the_likely_cause():
    class Cache(nnx.Module):
        def __init__(self):
            self.fc = nnx.Linear(4, 4, **Z, rngs=nnx.Rngs(0))

        def __call__(self, x):
            buf = jnp.zeros((8, 4), x.dtype)
            start = jnp.asarray(1, jnp.int32), jnp.asarray(0)  # int32 beside x64's int64
            return jax.lax.dynamic_update_slice(buf, self.fc(x), start)[:3]

    class Torch(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 4)

        def forward(self, x):
            return self.fc(x)

    with pytest.raises(port.PortError, match="under JAX x64") as err:
        port.compare(Torch(), Cache(), np.ones((3, 4)))
    assert "\n" not in str(err.value) and "int32" in str(err.value)


def test_a_layer_computing_in_bfloat16_is_a_named_precision_cause_that_does_not_hide_a_bug_elsewhere():
    class Half(Twin):
        def __init__(self, **kw):
            super().__init__(**kw)
            self.fc1 = nnx.Linear(8, 16, dtype=jnp.bfloat16, **Z, rngs=nnx.Rngs(0))

    report = _check(Half())
    assert report.passed, str(report)
    assert any(c.kind == "precision" and c.path == "fc1" and "bfloat16" in c.message for c in report.causes)
    wrong = _check(Half(epsilon=1e-3))  # where the twin computes in float64: still a failure
    assert not wrong.passed and wrong.first_divergence == "norm", str(wrong)
