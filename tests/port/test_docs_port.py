"""docs/port.md's pitfall table is the measured one: regenerate with `python -m tests.port.planted --write`."""

import pytest

from . import planted

# The planted checks are cached in tests.port.planted; one worker computes them once for both files.
pytestmark = pytest.mark.xdist_group("port-zoo")


def test_the_pitfall_table_in_docs_port_md_matches_a_fresh_measurement():
    text = planted.DOC.read_text()
    assert planted.section() in text, "docs/port.md is stale: run python -m tests.port.planted --write"

