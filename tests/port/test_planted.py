"""Each pitfall planted in a correct twin: compare fails, names the leaf where it enters, and lint names the option."""

import pytest
from flax import nnx

from equivalence import port

from . import planted

# The planted checks are cached in tests.port.planted; one worker computes them once for both files.
pytestmark = pytest.mark.xdist_group("port-zoo")


@pytest.mark.parametrize("case", [c for c in planted.CASES if not c.passes], ids=lambda c: c.name)
def test_a_planted_mistake_fails_at_its_leaf(case):
    report = planted.report(case.name)
    assert not report.passed
    assert report.first_divergence == case.divergence, str(report)


@pytest.mark.parametrize("case", [c for c in planted.CASES if c.passes], ids=lambda c: c.name)
def test_a_planted_precision_cause_is_named_at_its_leaf_and_does_not_fail_the_verdict(case):
    report = planted.report(case.name)
    assert report.passed and report.first_divergence is None, str(report)
    top = report.causes[0]
    assert top.kind == "precision" and top.path == case.divergence and "float32" in top.message


@pytest.mark.parametrize("case", planted.CASES, ids=lambda c: c.name)
def test_lint_names_the_planted_option_where_it_can_be_read(case):
    t, twin = planted.models(case.model)
    before = {(f.path, f.option) for f in port.lint(t, twin)}
    after = {(f.path, f.option) for f in port.lint(t, planted.planted_twin(case))}
    assert {option for _, option in after - before} <= {case.option}  # nothing else newly flagged
    if case.option is not None:
        assert case.option in {option for _, option in after}


def test_attention_with_its_heads_split_differently_is_refused_naming_the_layer():
    t, twin = planted.models("block")
    wrong = nnx.clone(twin)
    wrong.attn = nnx.MultiHeadAttention(4, 8, decode=False, rngs=nnx.Rngs(0))
    with pytest.raises(port.PortError, match=r"^attn <-> attn: .*shape"):
        port.copy_weights(t, wrong)


def test_a_correct_twin_has_only_the_advisory_findings():
    # what lint cannot see through (padding_idx handled in __call__) stays listed; nothing else
    for model, expected in (("mlp", set()), ("cnn", set()), ("block", {"padding_idx"})):
        t, twin = planted.models(model)
        assert {f.option for f in port.lint(t, twin)} == expected
