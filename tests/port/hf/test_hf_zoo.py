"""The Hugging Face zoo: each port equals its HF model in float64; port.compare passes it and names each planted bug."""

from __future__ import annotations

import importlib

import pytest

pytest.importorskip("transformers")

import torch  # noqa: E402

from . import direct, weights, zoo  # noqa: E402
from .cases import Bug, Case, user_lines  # noqa: E402

pytestmark = pytest.mark.xdist_group("port-hf")
# (family, bug) read from the modules' BUGS constants: collecting builds no model
PLANTED = [(f, b.name) for f in zoo.FAMILIES for b in importlib.import_module(f"{__package__}.{f}").BUGS]
IDS = [f"{f}-{b}" for f, b in PLANTED]
# float32 compiles every family's programs a second time (~9 CPU-s): the quick suite names each bug in float64,
# --full (CI) in both dtypes
NAMED = [pytest.param(f, b, d, id=f"{f}-{b}-{d}", marks=[pytest.mark.slow] if d == "float32" else [])
         for f, b in PLANTED for d in ("float64", "float32")]


def _bug(case: Case, name: str) -> Bug:
    return next(b for b in case.bugs if b.name == name)


# The quick suite (<= 90 s on 2 cores) checks the encoder end to end, directly and through port.compare; the other
# five families' (~20 CPU-s more) run with --full, as CI does. Every family's planted bugs are named in the quick
# suite either way.
QUICK = ("bert",)


@pytest.mark.parametrize("family", [pytest.param(f, marks=[] if f in QUICK else [pytest.mark.slow])
                                    for f in zoo.FAMILIES])
def test_the_correct_port_equals_the_hf_model_in_float64(family):
    assert direct.error(zoo.case(family)) <= 1e-13


@pytest.mark.slow  # one more compile per bug (~5 CPU-s); port.compare's naming below shows the same in the quick suite
@pytest.mark.parametrize("family, bug", PLANTED, ids=IDS)
def test_each_planted_bug_changes_the_models_output(family, bug):
    # far above float64 rounding; some bugs barely reach the logits (BERT's epsilon: 5.6e-7, a later LayerNorm
    # undoes most of it) although their own layer moves by 1e-4 or more: what float32 checks must still see
    assert direct.error(zoo.case(family), bug) > 1e-7


def test_hf_computes_rmsnorm_and_rope_in_float32_even_in_float64():
    """Why the direct check patches Qwen3: unpatched, a correct float64 port sits at float32 rounding."""
    assert 1e-10 < direct.error(zoo.case("qwen3"), patched=False) < 1e-5


def test_a_user_writes_15_lines_or_fewer_on_average():
    lines = [user_lines(zoo.case(f)) for f in zoo.FAMILIES]
    assert sum(lines) / len(lines) <= 15, dict(zip(zoo.FAMILIES, lines, strict=True))


@pytest.mark.parametrize("family", [pytest.param(f, marks=[] if f in QUICK else [pytest.mark.slow])
                                    for f in zoo.FAMILIES])
def test_port_compare_finds_each_correct_port_equal_in_float64_through_three_sgd_steps(family):
    from equivalence import port

    case = zoo.case(family)
    report = port.compare(case.torch_model, weights.build(case.make_twin), **case.compare_kwargs(),
                          optimizer=torch.optim.SGD(case.torch_model.parameters(), lr=0.1), steps=3, dtype="float64")
    assert report.passed, str(report)


@pytest.mark.slow  # a seventh compare per family (~5 CPU-s): --full
@pytest.mark.parametrize("family", zoo.FAMILIES)
def test_without_names_a_correct_port_pairs_by_structure_or_is_refused_in_one_line(family):
    """No false alarm from the pairing itself: a user who passes no names= gets EQUAL or one PortError line.

    ResNet's port computes the shortcut before the main path, torch after it: call order alone would pair the
    shortcut's BatchNorm with layer.2's (same type and shapes)."""
    from equivalence import port

    case = zoo.case(family)
    kwargs = {k: v for k, v in case.compare_kwargs().items() if k not in ("target", "loss", "names")}
    try:
        report = port.compare(case.torch_model, weights.build(case.make_twin), **kwargs)
    except port.PortError as err:
        assert "\n" not in str(err)
        return
    assert report.passed, str(report)


@pytest.mark.parametrize("family, bug, dtype", NAMED)
def test_port_compare_names_each_planted_bug_at_its_layer_or_gap(family, bug, dtype):
    from equivalence import port

    case = zoo.case(family)
    kwargs = {k: v for k, v in case.compare_kwargs().items() if k not in ("target", "loss")}  # the forward suffices
    report = port.compare(case.torch_model, weights.build(lambda: case.make_twin(bug=bug)), **kwargs, dtype=dtype)
    assert not report.passed, str(report)
    assert _bug(case, bug).blamed(report.first_divergence), str(report)
