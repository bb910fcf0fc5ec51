"""Pairing: `*` patterns, structure where names differ (printable for review), one line on ambiguity, several rules."""

import re

import numpy as np
import pytest
import torch
from flax import nnx
from torch import nn

from equivalence import port

from .zoo import attention_in_input_dtype

# One worker runs every zoo test of equivalence.port: the NNX side's operations compile once for all of them.
pytestmark = pytest.mark.xdist_group("port-zoo")

Z = {"kernel_init": nnx.initializers.zeros_init()}
E, H = 8, 2


class Attention(nn.Module):
    """Separate q/k/v/o Linears, as in HF's Llama/CLIP/BART."""

    def __init__(self):
        super().__init__()
        self.q_proj, self.k_proj, self.v_proj, self.o_proj = (nn.Linear(E, E) for _ in range(4))

    def forward(self, h):
        n, L, _ = h.shape
        q, k, v = (p(h).view(n, L, H, E // H).transpose(1, 2) for p in (self.q_proj, self.k_proj, self.v_proj))
        w = torch.softmax(q @ k.transpose(-1, -2) / (E // H) ** 0.5, dim=-1)
        return self.o_proj((w @ v).transpose(1, 2).reshape(n, L, E))


class Layer(nn.Module):
    def __init__(self):
        super().__init__()
        self.input_layernorm, self.self_attn = nn.LayerNorm(E), Attention()
        self.post_attention_layernorm = nn.LayerNorm(E)
        self.mlp = nn.ModuleDict({"up_proj": nn.Linear(E, 2 * E), "down_proj": nn.Linear(2 * E, E)})

    def forward(self, h):
        h = h + self.self_attn(self.input_layernorm(h))
        return h + self.mlp["down_proj"](torch.relu(self.mlp["up_proj"](self.post_attention_layernorm(h))))


class Decoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.model = nn.Module()
        self.model.layers = nn.ModuleList([Layer(), Layer()])
        self.lm_head = nn.Linear(E, 5)

    def forward(self, h):
        for layer in self.model.layers:
            h = layer(h)
        return self.lm_head(h)


class NnxLayer(nnx.Module):
    def __init__(self, rngs):
        self.norm1, self.norm2 = (nnx.LayerNorm(E, epsilon=1e-5, rngs=rngs) for _ in range(2))
        self.attn = nnx.MultiHeadAttention(H, E, decode=False, attention_fn=attention_in_input_dtype, **Z, rngs=rngs)
        self.up, self.down = nnx.Linear(E, 2 * E, **Z, rngs=rngs), nnx.Linear(2 * E, E, **Z, rngs=rngs)

    def __call__(self, h):
        h = h + self.attn(self.norm1(h))
        return h + self.down(nnx.relu(self.up(self.norm2(h))))


class NnxDecoder(nnx.Module):
    def __init__(self):
        rngs = nnx.Rngs(0)
        self.blocks = nnx.List([NnxLayer(rngs), NnxLayer(rngs)])
        self.head = nnx.Linear(E, 5, **Z, rngs=rngs)

    def __call__(self, h):
        for block in self.blocks:
            h = block(h)
        return self.head(h)


NAMES = {"model.layers.*": "blocks.*", "model.layers.*.self_attn": "blocks.*.attn",
         "model.layers.*.input_layernorm": "blocks.*.norm1", "model.layers.*.post_attention_layernorm": "blocks.*.norm2",
         "lm_head": "head"}


def test_patterns_and_structure_pair_q_k_v_o_linears_with_nnx_multiheadattention_and_the_pairing_prints():
    torch.manual_seed(0)
    t = Decoder()
    pairing = port.pairing(t, NnxDecoder(), names=NAMES)
    got = {p.torch_name: (p.nnx_path, p.how) for p in pairing}
    assert got["model.layers.1.self_attn.q_proj"] == ("blocks.1.attn.query", "structure")
    assert got["model.layers.1.self_attn.o_proj"] == ("blocks.1.attn.out", "structure")
    assert got["model.layers.0.mlp.up_proj"] == ("blocks.0.up", "structure")
    assert got["model.layers.0.input_layernorm"] == ("blocks.0.norm1", "names")
    assert re.search(r"model\.layers\.1\.self_attn\.v_proj +blocks\.1\.attn\.value +Linear \(heads\) +structure",
                     str(pairing))
    x = np.random.default_rng(0).standard_normal((2, 3, E))
    report = port.compare(t, NnxDecoder(), x, names=NAMES, target=np.zeros((2, 3, 5)), loss=nn.MSELoss())
    assert report.passed, str(report)


def test_a_wrong_attention_scale_is_blamed_on_the_gap_before_the_output_projection():
    class Unscaled(NnxDecoder):
        def __init__(self):
            super().__init__()
            for b in self.blocks:
                b.attn.attention_fn = lambda q, k, v, **kw: attention_in_input_dtype(q * (E // H) ** 0.5, k, v, **kw)

    torch.manual_seed(0)
    report = port.compare(Decoder(), Unscaled(), np.random.default_rng(0).standard_normal((2, 3, E)), names=NAMES)
    assert report.first_divergence == "model.layers.0.self_attn.o_proj", str(report)
    assert report.entered == "between model.layers.0.self_attn.v_proj and model.layers.0.self_attn.o_proj"


def test_two_layers_that_fit_one_nnx_layer_equally_are_refused_with_one_line():
    t = nn.ModuleDict({"a": nn.Linear(2, 2), "b": nn.Linear(2, 2)})

    class Twin(nnx.Module):
        def __init__(self):
            self.x, self.y = nnx.Linear(2, 2, rngs=nnx.Rngs(0)), nnx.Linear(2, 2, rngs=nnx.Rngs(0))

    with pytest.raises(port.PortError, match=r"fits 2 NNX layers equally .*names=") as err:
        port.pairing(t, Twin())
    assert "\n" not in str(err.value)
    with pytest.raises(port.PortError, match=r"names\['c\.\*'\]: .* matches no module"):
        port.pairing(t, Twin(), names={"c.*": "x"})


def test_an_nnx_module_with_its_layers_in_a_sequential_pairs():
    t = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))

    class Twin(nnx.Module):
        def __init__(self):
            rngs = nnx.Rngs(0)
            self.net = nnx.Sequential(nnx.Linear(3, 4, rngs=rngs), nnx.relu, nnx.Linear(4, 2, rngs=rngs))

        def __call__(self, x):
            return self.net(x)

    assert [(p.torch_name, p.nnx_path) for p in port.pairing(t, Twin(), names={"": "net"})] == [
        ("0", "net.layers.0"), ("2", "net.layers.2")]
    assert port.compare(t, Twin(), np.ones((2, 3)), names={"": "net"}).passed


class Dense(nnx.Module):
    """A user's own dense layer: kernel stored (out, in), as torch does."""

    def __init__(self, i, o):
        self.w = nnx.Param(np.zeros((o, i)))

    def __call__(self, x):
        return x @ self.w[...].T


class LayerScale(nn.Module):
    """A block with a parameter of its own and children with built-in rules."""

    def __init__(self):
        super().__init__()
        self.gamma, self.norm, self.fc = nn.Parameter(torch.full((4,), 0.5)), nn.LayerNorm(4), nn.Linear(4, 4)

    def forward(self, x):
        return x + self.gamma * self.fc(self.norm(x))


class NnxLayerScale(nnx.Module):
    def __init__(self, epsilon=1e-5):
        rngs = nnx.Rngs(0)
        self.gamma = nnx.Param(np.zeros(4))
        self.norm, self.fc = nnx.LayerNorm(4, epsilon=epsilon, rngs=rngs), nnx.Linear(4, 4, rngs=rngs)

    def __call__(self, x):
        return x + self.gamma[...] * self.fc(self.norm(x))


def test_several_rules_per_torch_type_the_partner_type_chooses_and_a_composite_rule_keeps_its_children_checked():
    dense = port.Rule("Dense", (nn.Linear,), (Dense,), lambda m, t: {"w": t["weight"]},
                      lambda m, a: {"weight": a["w"]})
    scale = port.Rule("LayerScale", (LayerScale,), (NnxLayerScale,), lambda m, t: {"gamma": t["gamma"]},
                      lambda m, a: {"gamma": a["gamma"]}, composite=True)
    t = nn.ModuleDict({"a": nn.Linear(4, 4, bias=False), "b": nn.Linear(4, 4), "block": LayerScale()})

    class Twin(nnx.Module):
        def __init__(self, epsilon=1e-5):
            self.a, self.b, self.block = Dense(4, 4), nnx.Linear(4, 4, rngs=nnx.Rngs(0)), NnxLayerScale(epsilon)

        def __call__(self, x):
            return self.block(self.b(self.a(x)))

    class Torch(nn.Module):
        def __init__(self):
            super().__init__()
            self.m = t

        def forward(self, x):
            return self.m["block"](self.m["b"](self.m["a"](x)))

    x = np.random.default_rng(0).standard_normal((3, 4))
    names = {"m": ""}
    report = port.compare(Torch(), Twin(), x, names=names, rules=[dense, scale])
    assert report.passed, str(report)
    wrong = port.compare(Torch(), Twin(epsilon=1e-3), x, names=names, rules=[dense, scale])
    assert wrong.first_divergence == "m.block.norm", str(wrong)
    assert dense not in port.RULES and scale not in port.RULES  # rules= lasts one call


def test_a_batchnorm_pairs_beside_its_conv_even_when_the_twin_calls_the_branches_in_another_order():
    def conv_bn(cin):
        return nn.ModuleDict({"convolution": nn.Conv2d(cin, 4, 1, bias=False), "normalization": nn.BatchNorm2d(4)})

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.layer, self.shortcut = conv_bn(4), conv_bn(3)
            self.stem = nn.Conv2d(3, 4, 1)

        def forward(self, x):
            main = self.layer["normalization"](self.layer["convolution"](self.stem(x)))
            return main + self.shortcut["normalization"](self.shortcut["convolution"](x))

    class ConvBN(nnx.Module):
        def __init__(self, cin):
            self.conv = nnx.Conv(cin, 4, (1, 1), use_bias=False, rngs=nnx.Rngs(0))
            self.bn = nnx.BatchNorm(4, use_running_average=True, rngs=nnx.Rngs(0))

        def __call__(self, x):
            return self.bn(self.conv(x))

    class Twin(nnx.Module):
        def __init__(self):
            self.proj, self.main, self.stem = ConvBN(3), ConvBN(4), nnx.Conv(3, 4, (1, 1), rngs=nnx.Rngs(0))

        def __call__(self, x):
            shortcut = self.proj(x)  # the shortcut first: torch calls it last
            return self.main(self.stem(x)) + shortcut

    torch.manual_seed(0)
    t = Block().eval()
    with torch.no_grad():
        for m in (t.layer["normalization"], t.shortcut["normalization"]):
            m.running_mean.uniform_(-1, 1)
    x = np.random.default_rng(0).standard_normal((2, 3, 4, 4))
    got = {p.torch_name: p.nnx_path for p in port.pairing(t, Twin(), x=x, jax_x=x.transpose(0, 2, 3, 1))}
    assert got["shortcut.normalization"] == "proj.bn" and got["layer.normalization"] == "main.bn"
