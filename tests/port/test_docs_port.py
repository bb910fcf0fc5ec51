"""docs/port.md's pitfall table is the measured one: regenerate with `python -m tests.port.planted --write`."""

import pytest

from . import planted

# The planted checks are cached in tests.port.planted; one worker computes them once for both files.
pytestmark = pytest.mark.xdist_group("port-planted")


def test_the_pitfall_table_in_docs_port_md_matches_a_fresh_measurement():
    text = planted.DOC.read_text()
    assert planted.section() in text, "docs/port.md is stale: run python -m tests.port.planted --write"


def test_the_hugging_face_example_that_opens_docs_port_md_runs_and_passes(capsys):
    text = planted.DOC.read_text()
    block = text.split("```python\n", 1)[1].split("```", 1)[0]
    assert len(block.strip().splitlines()) <= 15
    exec(compile(block, "docs/port.md", "exec"), {})
    out = capsys.readouterr().out
    assert "verdict: EQUAL" in out and "bert.encoder.layer.1.attention.self.query" in out
