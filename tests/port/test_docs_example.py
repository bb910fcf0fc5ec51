"""The Hugging Face example that opens docs/port.md is real: it runs, in 15 lines or fewer, and passes."""

import pathlib

import pytest

pytest.importorskip("transformers")

# beside the Hugging Face zoo: one worker imports transformers and compiles BERT's operations once
pytestmark = pytest.mark.xdist_group("port-hf")

DOC = pathlib.Path(__file__).resolve().parents[2] / "docs" / "port.md"


def test_the_hugging_face_example_that_opens_docs_port_md_runs_and_passes(capsys):
    block = DOC.read_text().split("```python\n", 1)[1].split("```", 1)[0]
    assert len(block.strip().splitlines()) <= 15
    exec(compile(block, "docs/port.md", "exec"), {})  # noqa: S102 - our own documented example
    out = capsys.readouterr().out
    assert "verdict: EQUAL" in out and "bert.encoder.layer.1.attention.self.query" in out
