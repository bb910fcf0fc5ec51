"""The guide's idiomatic code (tools/docs/idioms.py): every snippet runs after the shared prelude, in both frameworks,
and each shows the pieces its stage teaches."""

import pytest

from equivalence.lecture.stages import STAGES
from tools.docs import idioms


def _run(code: str) -> dict:
    namespace: dict = {"__name__": "__idiom__"}
    short = code.replace("range(5000)", "range(20)").replace("length=5000", "length=20")  # the same code, fewer steps
    exec(compile(idioms.PRELUDE + short, "<idiom>", "exec"), namespace)  # noqa: S102 - our own snippets
    return namespace


def test_every_stage_has_its_idiom():
    assert set(STAGES) <= set(idioms.IDIOMS)


@pytest.mark.parametrize("stage", list(idioms.IDIOMS))
@pytest.mark.parametrize("side", [0, 1], ids=["torch", "jax"])
def test_each_snippet_runs(stage, side):
    import numpy as np

    namespace = _run(idioms.IDIOMS[stage][side])
    if stage == "module":
        x = namespace["x"] if side else namespace["torch"].from_numpy(namespace["x"])
        assert tuple(namespace["model"](x).shape) == (64, 2)
    elif stage == "cnn":
        assert "block" in namespace
    else:
        loss = namespace["losses"][-1] if "losses" in namespace else namespace["loss"]
        assert np.isfinite(float(loss))


@pytest.mark.parametrize("stage, torch_call, jax_call", [
    ("manual", "w -= 1e-6 * grad_w", "jax.lax.scan"),
    ("autograd", "loss.backward()", "jax.value_and_grad"),
    ("nn", "model.parameters()", "nnx.state(model, nnx.Param)"),
    ("optim", "torch.optim.Adam", "nnx.Optimizer(model, optax.adam("),
    ("module", "super().__init__()", "class MyOneLayerNet(nnx.Module)"),
    ("mlp", "F.cross_entropy", "optax.softmax_cross_entropy_with_integer_labels"),
    ("cnn", "block.eval()", "block.eval()"),
])
def test_each_snippet_shows_what_its_stage_teaches(stage, torch_call, jax_call):
    torch_code, jax_code = idioms.IDIOMS[stage]
    assert torch_call in torch_code and jax_call in jax_code
    assert "_" + "adam" not in jax_code and "_Layout" not in jax_code  # no project machinery


def test_the_korean_guide_shows_the_snippets_with_korean_comments():
    import re

    from tools.docs.source import ROOT

    text = (ROOT / "docs" / "guide.ko.md").read_text(encoding="utf-8")
    shown = (ROOT / "docs" / "guide.md").read_text(encoding="utf-8")
    for english, korean in idioms.COMMENTS_KO.items():
        assert (korean in text) == (english in shown), english
    code = "\n".join(re.findall(r"```python\n(.*?)```", text, flags=re.S))
    for torch_code, jax_code in idioms.IDIOMS.values():  # the same code: only the comments changed
        for snippet in (torch_code, jax_code):
            assert idioms.in_language(snippet, "ko").rstrip("\n") in code
