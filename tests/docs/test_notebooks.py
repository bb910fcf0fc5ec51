"""The notebooks (tools/docs/lessons/ -> docs/notebooks/): their shape, their stored outputs, and fresh runs of them.

Measured on the 2 shared cores (load average 7-9: other sessions), each notebook alone in a fresh kernel, at its own
steps: manual 19.1 s, autograd 47.7, nn 16.8, optim 30.7, module 27.5, mlp 34.6, cnn 104.6 (100 float64 conv steps):
281 s for the 7 English ones; later, under less load, all 14 in fresh kernels
(the `--full` test below) 115 s. Most of it is the kernel's start, the imports and the
compiles, not the steps, so fewer steps barely help: no share of a 90 s suite fits them all. The choice: the quick
suite runs ONE notebook, manual.ipynb at 200 steps in a fresh kernel (8.9 s at load 9, 3.7 s at load 4; the
execute() tests' small kernels 2.9 + 0.7 s; the rest, without a kernel, < 1 s; the file: 12 s of one worker): the structure of all 14, their stored outputs (each exercise's blank failed its assert and
its folded solution passed it), no private name outside the deviation cell, the Korean code = the English code up
to comments and strings. `--full` (CI) executes all 14 afresh and compares what they print with what is stored.
"""

import tokenize

import nbformat
import pytest

from equivalence.lecture.stages import STAGES
from tools import docs
from tools.docs import notebooks
from tools.docs.source import ROOT

FOLDER = ROOT / "docs" / docs.NOTEBOOKS


def _committed() -> dict[str, object]:
    return {p.name: nbformat.read(p, as_version=4) for p in sorted(FOLDER.glob("*.ipynb"))}


def _code(nb):
    return [c for c in nb.cells if c.cell_type == "code"]


def test_there_is_one_notebook_per_stage_and_language_as_generated():
    committed = _committed()
    assert set(committed) == {notebooks.notebook_name(s, lang) for s in STAGES for lang in docs.LANGS}
    for name, nb in docs.build_notebooks({}).items():
        assert notebooks.sources_of(committed[name.split("/")[-1]]) == notebooks.sources_of(nb), name


@pytest.mark.parametrize("name", sorted(_committed()))
def test_each_notebook_teaches_by_inline_code_with_a_plot_a_check_and_exercises(name):
    nb = _committed()[name]
    code = _code(nb)
    sources = "\n".join(c.source for c in code)
    assert "%pip install" in code[0].source and "find_spec" in code[0].source, "the first code cell installs"
    assert "pip install jupyterlab; jupyter lab docs/notebooks" in nb.cells[0].source
    assert "import torch" in sources and ("jax.jit" in sources or "nnx.jit" in sources), "inline torch and JAX"
    assert "equivalence.lecture.stages" not in sources and "row(" not in sources, "no helper doing the lesson"
    assert any(o.get("data", {}).get("image/png") for c in code for o in c.outputs), "a plot"
    assert "equivalence" in sources and "assert" in sources, "a check with the project's library"
    exercises, solutions = notebooks.tagged(nb, "exercise"), notebooks.tagged(nb, "solution")
    assert 2 <= len(exercises) == len(solutions) <= 3
    for blank, solved in zip(exercises, solutions):
        assert "assert" in blank.source and ("# your code" in blank.source or "# 여기에 코드를 쓰세요" in blank.source)
        assert solved.metadata["jupyter"]["source_hidden"] is True
        assert [o.ename for o in blank.outputs if o.output_type == "error"] == ["AssertionError"], "the blank fails"
        assert not [o for o in solved.outputs if o.output_type == "error"], "the solution passes"
    assert not notebooks.errors_in(nb), name


def test_no_code_cell_uses_a_private_name_outside_the_cell_that_explains_the_deviation():
    for name, nb in _committed().items():
        for cell in _code(nb):
            if "deviation" not in cell.metadata.get("tags", []):
                assert not notebooks.private_names(cell.source), (name, notebooks.private_names(cell.source))


def test_a_private_name_is_found():
    assert notebooks.private_names("from jaxnet.optim import _adam\nx = _adam(0.9)") == {"_adam"}
    assert notebooks.private_names("for _ in range(3):\n    __name__  # _Layout in a comment") == set()


def test_the_korean_notebooks_run_the_english_code_with_korean_comments_and_labels():
    committed = _committed()
    for stage in STAGES:
        en, ko = committed[notebooks.notebook_name(stage, "en")], committed[notebooks.notebook_name(stage, "ko")]
        assert [notebooks.program(c.source) for c in _code(en)] == [notebooks.program(c.source) for c in _code(ko)]
        assert any("스텝" in c.source or "공통" in c.source for c in _code(ko)), stage
        assert "단계" not in "".join(c.source for c in ko.cells if c.cell_type == "markdown").replace("4단계", ""), stage


def test_the_manual_notebook_runs_top_to_bottom_in_a_fresh_kernel_with_fewer_steps():
    """The quick suite's one execution: the blanks fail their asserts, the solutions pass, nothing else fails."""
    nb = notebooks.with_parameters(_committed()["manual.ipynb"], STEPS=200)
    (ran,) = notebooks.execute([nb], ROOT)  # nbclient raises on a failing cell not tagged raises-exception
    assert not notebooks.errors_in(ran)
    assert notebooks.errors_in(ran, expected=True) == notebooks.errors_in(nb, expected=True)  # the blanks' messages
    assert all(c.outputs for c in notebooks.tagged(ran, "solution"))


@pytest.mark.slow
def test_every_notebook_executes_top_to_bottom_and_prints_its_stored_outputs():
    committed = _committed()
    ran = notebooks.execute(list(committed.values()), ROOT)
    for (name, old), new in zip(committed.items(), ran):
        assert not notebooks.errors_in(new), name
        diff = docs.first_difference(notebooks.text_of(old), notebooks.text_of(new))
        assert diff is None, f"{name} line {diff}: run `python -m tools.docs` and commit docs/"


def test_a_failing_cell_fails_the_run_and_a_blank_exercise_may_fail():
    cell = nbformat.v4.new_code_cell
    nb = nbformat.v4.new_notebook(cells=[cell("raise ValueError('planted')")])
    with pytest.raises(Exception, match="planted"):
        notebooks.execute([nb], ROOT)


def test_a_language_twin_takes_the_outputs_of_the_same_code_and_other_code_runs(tmp_path):
    cell, md = nbformat.v4.new_code_cell, nbformat.v4.new_markdown_cell
    runs = f"import pathlib; p = pathlib.Path({str(tmp_path / 'runs')!r}); p.write_text(p.read_text() + 'x' if p.exists() else 'x'); print('ran')"
    english = nbformat.v4.new_notebook(cells=[md("English"), cell(runs)])
    korean = nbformat.v4.new_notebook(cells=[md("한국어"), cell(english.cells[1].source)])
    other = nbformat.v4.new_notebook(cells=[cell("import jax; jax.config.update('jax_enable_x64', True)"),
                                            cell("import jax; print(jax.config.jax_enable_x64)")])
    again = nbformat.v4.new_notebook(cells=[cell("import jax; print(jax.config.jax_enable_x64)")])
    en, ko, ot, ag = notebooks.execute([english, korean, other, again], ROOT)
    assert notebooks.text_of(ko) == ["[markdown]", "한국어", *notebooks.text_of(en)[2:]]
    assert (tmp_path / "runs").read_text() == "x", "the twin was not run again"
    assert notebooks.text_of(ot)[-1] == "True" and notebooks.text_of(ag)[-1] == "False", "each in a fresh kernel"


def test_a_notebook_whose_code_ran_before_keeps_those_outputs_and_starts_no_kernel():
    cell, md = nbformat.v4.new_code_cell, nbformat.v4.new_markdown_cell
    committed = nbformat.v4.new_notebook(cells=[md("old prose"), cell("print('x')")])
    committed.cells[1].outputs = [nbformat.v4.new_output("stream", name="stdout", text="as stored\n")]
    fresh = nbformat.v4.new_notebook(cells=[md("new prose"), cell("print('x')")])
    (out,) = notebooks.execute([fresh], ROOT, known=[committed])  # a kernel would print "x"
    assert notebooks.text_of(out) == ["[markdown]", "new prose", "[code]", "print('x')", "[output]", "as stored"]


def test_a_korean_cell_gets_korean_comments_and_labels_and_a_missing_one_is_refused():
    source = 'x = 1  # one\nprint("one apple", x)\nd = {"w": x}'
    table = {"one": "하나", '"one apple"': '"사과 하나"'}
    assert notebooks.translated(source, table) == 'x = 1  # 하나\nprint("사과 하나", x)\nd = {"w": x}'
    with pytest.raises(KeyError, match="one apple"):
        notebooks.translated(source, {"one": "하나"})


def test_an_f_string_is_one_translatable_string_on_every_python():
    """Python 3.12 tokenizes an f-string in parts (PEP 701); the translator still sees the whole literal, as on 3.11."""
    from tools.docs import notebooks as nb

    source = 'print(f"compare: {\'EQUAL\' if ok else \'NOT EQUAL\'}; {a:.2e}"\n      f"then {b}")  # say it\n'
    strings = [t.string for t in nb._tokens(source) if t.type == tokenize.STRING]
    assert strings == ['f"compare: {\'EQUAL\' if ok else \'NOT EQUAL\'}; {a:.2e}"', 'f"then {b}"']
    table = {strings[0]: 'f"비교: {\'같음\' if ok else \'다름\'}; {a:.2e}"', strings[1]: 'f"다음 {b}"', "say it": "말하기"}
    assert nb.translated(source, table) == ('print(f"비교: {\'같음\' if ok else \'다름\'}; {a:.2e}"\n'
                                           '      f"다음 {b}")  # 말하기\n')
