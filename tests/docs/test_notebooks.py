"""Every committed notebook runs without an error, and prints what its stored outputs say (up to rounding)."""

import time

import nbformat
import pytest

from equivalence.stages import STAGES
from tools import docs
from tools.docs import notebooks
from tools.docs.source import ROOT

FOLDER = ROOT / "docs" / docs.NOTEBOOKS


def _committed() -> dict[str, object]:
    return {p.name: nbformat.read(p, as_version=4) for p in sorted(FOLDER.glob("*.ipynb"))}


def test_there_is_one_notebook_per_stage_and_language_with_its_outputs_stored():
    names = set(_committed())
    assert names == {notebooks.notebook_name(s, lang) for s in STAGES for lang in docs.LANGS}
    for name, nb in _committed().items():
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert code and all(c.outputs for c in code), f"{name}: a code cell without its stored output"
        assert not notebooks.errors_in(nb), name


# Run first in the kernel: the libraries the notebooks import, then gc.freeze(), so the collections that every
# notebook's `%reset -f` and every traced program start no longer re-scan the millions of objects jax and torch are
# made of (the kernel: 15.8 -> 12.7 CPU-s). The notebooks still import what they use and start from `%reset -f`.
WARM_UP = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
    "import gc, jax, optax, torch, flax.nnx, equivalence.stages, tools.docs.measured\ngc.collect()\ngc.freeze()")])


def test_every_notebook_executes_and_prints_its_stored_outputs(capsys):
    """One kernel for all of them (jax and torch import once); the time goes to the report."""
    committed = _committed()
    started = time.perf_counter()
    warm, *ran = notebooks.execute([WARM_UP, *committed.values()], ROOT)  # nbclient raises on the first failing cell
    assert not notebooks.errors_in(warm)
    took = time.perf_counter() - started
    for (name, old), new in zip(committed.items(), ran):
        assert not notebooks.errors_in(new), name
        diff = docs.first_difference(notebooks.text_of(old), notebooks.text_of(new))
        assert diff is None, f"{name} line {diff}: run `python -m tools.docs` and commit docs/"
    programs = {tuple(c.source for c in nb.cells if c.cell_type == "code") for nb in committed.values()}
    with capsys.disabled():
        print(f"\n{len(ran)} notebooks ({len(programs)} distinct programs run) checked in {took:.1f} s")


def test_a_failing_cell_fails_the_run():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("raise ValueError('planted')")])
    with pytest.raises(Exception, match="planted"):
        notebooks.execute([nb], ROOT)


def test_a_language_twin_takes_the_outputs_of_the_same_code_and_other_code_runs():
    cell, md = nbformat.v4.new_code_cell, nbformat.v4.new_markdown_cell
    # builtins outlive %reset -f: a second run of this code would print "ran 2"
    runs = "import builtins; builtins.runs = getattr(builtins, 'runs', 0) + 1; print('ran', builtins.runs)"
    english = nbformat.v4.new_notebook(cells=[md("English"), cell(runs)])
    korean = nbformat.v4.new_notebook(cells=[md("한국어"), cell(english.cells[1].source)])
    other = nbformat.v4.new_notebook(cells=[cell("print('other')")])
    en, ko, ot = notebooks.execute([english, korean, other], ROOT)
    assert notebooks.text_of(ko) == ["[markdown]", "한국어", *notebooks.text_of(en)[2:]]
    assert notebooks.text_of(en)[-1] == "ran 1" and notebooks.text_of(ot)[-1] == "other"


def test_a_notebook_whose_code_ran_before_keeps_those_outputs_and_starts_no_kernel():
    cell, md = nbformat.v4.new_code_cell, nbformat.v4.new_markdown_cell
    committed = nbformat.v4.new_notebook(cells=[md("old prose"), cell("print('x')")])
    committed.cells[1].outputs = [nbformat.v4.new_output("stream", name="stdout", text="as stored\n")]
    fresh = nbformat.v4.new_notebook(cells=[md("new prose"), cell("print('x')")])
    (out,) = notebooks.execute([fresh], ROOT, known=[committed])  # a kernel would print "x"
    assert notebooks.text_of(out) == ["[markdown]", "new prose", "[code]", "print('x')", "[output]", "as stored"]
