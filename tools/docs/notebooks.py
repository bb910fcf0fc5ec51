"""docs/notebooks/<stage>.ipynb and <stage>.ko.ipynb: assembled from tools/docs/lessons/, executed in one shared kernel."""

from __future__ import annotations

import copy
import io
import re
import tokenize
from pathlib import Path

from tools.docs.lessons import Md, lesson

TIMEOUT_S = 300
LANGS = ("en", "ko")
PRIVATE = re.compile(r"^_[A-Za-z0-9]\w*$")  # _adam, _Layout, _patches_conv: a private name, not `_` nor a dunder

INSTALL = '''\
# installs what is missing (a fresh Jupyter or Colab); where everything is installed it does nothing
import importlib.util
import pathlib
import sys

missing = [name for name in ("torch", "jax", "flax", "optax", "matplotlib") if importlib.util.find_spec(name) is None]
if missing:
    packages = " ".join(missing)
    %pip install -q $packages
if importlib.util.find_spec("netdata") is None:  # this repository's own packages: from the checkout around us
    here = pathlib.Path.cwd().resolve()
    root = next((p for p in (here, *here.parents) if (p / "netdata" / "problems.py").is_file()), None)
    if root is None:
        raise ModuleNotFoundError("netdata: run this notebook inside a checkout of the repository")
    sys.path.insert(0, str(root))'''

OPEN = Md("**How to open it.** In a checkout of the repository: `pip install jupyterlab; jupyter lab docs/notebooks`. "
          "The first code cell installs what is missing (PyTorch, JAX, Flax, Optax, matplotlib). Every cell runs top to "
          "bottom; each exercise cell fails its `assert` until you write the answer, and its solution is folded below "
          "it.",
          "**여는 법.** 저장소를 받은 폴더에서: `pip install jupyterlab; jupyter lab docs/notebooks`. 첫 코드 셀이 없는 "
          "패키지(PyTorch, JAX, Flax, Optax, matplotlib)를 설치합니다. 모든 셀은 위에서 아래로 실행됩니다. 연습 셀은 답을 "
          "쓰기 전까지 `assert`에서 실패하고, 풀이는 그 아래에 접혀 있습니다.")
WORDS = {"en": {"exercises": "Exercises", "exercise": "Exercise", "solution": "Solution (the folded cell below runs it)"},
         "ko": {"exercises": "연습 문제", "exercise": "연습", "solution": "풀이 (아래 접힌 셀이 실행합니다)"}}


def notebook_name(stage: str, lang: str) -> str:
    return f"{stage}.ipynb" if lang == "en" else f"{stage}.{lang}.ipynb"


FSTRING_START, FSTRING_END = getattr(tokenize, "FSTRING_START", None), getattr(tokenize, "FSTRING_END", None)


def _tokens(source: str):
    """tokenize's tokens with each f-string as one STRING token, as Python 3.11 reads it (3.12 splits an f-string into
    its parts, PEP 701): the same translations, programs and names on every Python."""
    lines, depth, start = source.splitlines(keepends=True), 0, None
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if FSTRING_START is not None and token.type in (FSTRING_START, FSTRING_END) or depth:
            if token.type == FSTRING_START:
                start = token.start if depth == 0 else start
                depth += 1
            elif token.type == FSTRING_END:
                depth -= 1
                if depth == 0:
                    (r0, c0), (r1, c1) = start, token.end
                    text = "".join(lines[r0 - 1:r1])[c0:len("".join(lines[r0 - 1:r1])) - len(lines[r1 - 1]) + c1]
                    yield tokenize.TokenInfo(tokenize.STRING, text, start, token.end, token.line)
            continue
        yield token


def _translatable(token: tokenize.TokenInfo) -> str | None:
    """The key a Korean translation replaces: a comment's text, or a string literal with words (labels, messages)."""
    if token.type == tokenize.COMMENT:
        return token.string[1:].strip()
    if token.type == tokenize.STRING and " " in token.string and re.search(r"[A-Za-z]{2}", token.string):
        return token.string
    return None


def translated(source: str, table: dict[str, str]) -> str:
    """`source` with every comment and worded string literal replaced by its entry in `table` (KeyError if none)."""
    lines = source.splitlines(keepends=True)
    edits, missing = [], []
    for token in _tokens(source):
        key = _translatable(token)
        if key is None:
            continue
        if key not in table:
            missing.append(key)
            continue
        new = "# " + table[key] if token.type == tokenize.COMMENT else table[key]
        edits.append((token.start, token.end, new))
    if missing:
        raise KeyError("no Korean in tools/docs/lessons/ko.py for: " + " | ".join(missing))
    for (row, col), (end_row, end_col), new in reversed(edits):
        lines[row - 1:end_row] = [lines[row - 1][:col] + new + lines[end_row - 1][end_col:]]
    return "".join(lines)


def program(source: str) -> list[tuple[int, str]]:
    """The code's tokens without comments, strings stood in for: what an English cell and its Korean twin share."""
    out = []
    for token in _tokens(source):
        if token.type in (tokenize.COMMENT, tokenize.NL):
            continue
        out.append((token.type, "<str>" if token.type == tokenize.STRING else token.string))
    return out


def private_names(source: str) -> set[str]:
    """The private names (`_adam`, `jaxnet.cnn._patches_conv`) a code cell uses."""
    names = set()
    for token in _tokens(source):
        if token.type == tokenize.NAME and PRIVATE.match(token.string):
            names.add(token.string)
    return names


def build(stage: str, lang: str, number: int):
    """One stage's notebook, without outputs."""
    import nbformat

    from tools.docs.lessons.ko import KO

    def md(text: Md | str):
        return nbformat.v4.new_markdown_cell(text if isinstance(text, str) else getattr(text, lang))

    def code(source: str, tags: tuple[str, ...] = (), hidden: bool = False):
        cell = nbformat.v4.new_code_cell(source if lang == "en" else translated(source, KO))
        if tags:
            cell.metadata["tags"] = list(tags)
        if hidden:
            cell.metadata["jupyter"] = {"source_hidden": True}
        return cell

    found, words = lesson(stage), WORDS[lang]
    cells = [md(f"# {number} · `{stage}`: {getattr(found.title, lang)}\n\n{getattr(OPEN, lang)}"), code(INSTALL, ("install",))]
    for cell in found.cells:
        cells.append(md(cell) if isinstance(cell, Md) else code(cell.source, (cell.tag,) if cell.tag else ()))
    cells.append(md(f"## {words['exercises']}"))
    for i, ex in enumerate(found.exercises, 1):
        solution = code(ex.solution + "\n\n" + ex.check, ("solution",), hidden=True)
        cells += [md(f"### {words['exercise']} {i}\n\n{getattr(ex, lang)}"),
                  code(ex.blank + "\n\n" + ex.check, ("exercise", "raises-exception")),
                  md(f"<details><summary>{words['solution']}</summary>\n\n```python\n{solution.source}\n```\n\n</details>"),
                  solution]
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def tagged(nb, tag: str) -> list:
    return [c for c in nb.cells if c.cell_type == "code" and tag in c.metadata.get("tags", [])]


def with_parameters(nb, **values):
    """A copy of `nb` whose `parameters` cell sets `values` (STEPS=20, ...): how the quick suite runs a notebook short."""
    nb = copy.deepcopy(nb)
    (cell,) = tagged(nb, "parameters")
    cell.source += "".join(f"\n{name} = {value!r}" for name, value in values.items())
    return nb


def _with_outputs_of(nb, twin):
    """`nb` with the outputs `twin`, an executed notebook with the same code cells, printed."""
    pairs = zip((c for c in nb.cells if c.cell_type == "code"), (c for c in twin.cells if c.cell_type == "code"),
                strict=True)
    for cell, ran in pairs:
        cell.outputs, cell.execution_count = copy.deepcopy(ran.outputs), ran.execution_count
    nb.metadata.pop("language_info", None)
    return nb


def _code(nb) -> tuple[str, ...]:
    return tuple(c.source for c in nb.cells if c.cell_type == "code")


def execute(notebooks: list, cwd: Path, known: list = ()) -> list:
    """Run each notebook top to bottom in a fresh kernel of its own (a notebook's settings, such as the cnn's
    jax_enable_x64, cannot leak into the next). A notebook whose code cells are a previous one's, or those of one in
    `known` (executed notebooks: the committed ones), is not run again: its code cells get those outputs, which the
    same code prints. A cell tagged `raises-exception` (an exercise's blank) may fail; any other failing cell raises."""
    import nbformat
    from nbclient import NotebookClient

    ran = {_code(nb): nb for nb in map(nbformat.from_dict, known)}  # code cells' sources -> an executed notebook
    out = []
    for nb in notebooks:
        nb = nbformat.from_dict(nb)
        code = _code(nb)
        if code in ran:
            out.append(_with_outputs_of(nb, ran[code]))
            continue
        km = _kernel(cwd)
        try:
            NotebookClient(nb, km=km, timeout=TIMEOUT_S, allow_errors=False, coalesce_streams=True,
                           record_timing=False).execute()
        finally:
            km.shutdown_kernel(now=True)
        nb.metadata.pop("language_info", None)  # the kernel's Python version: not the notebook's business
        out.append(nb)
        ran[code] = nb
    return out


def _kernel(cwd: Path):
    from jupyter_client.manager import KernelManager

    km = KernelManager(kernel_name="python3")
    km.start_kernel(cwd=str(cwd))
    return km


def text_of(nb) -> list[str]:
    """The lines a reader sees: every cell's source, then its printed output (no ids, counts, metadata or tracebacks)."""
    lines = []
    for cell in nb["cells"]:
        lines += [f"[{cell['cell_type']}]", *cell["source"].splitlines()]
        if cell.get("outputs"):  # one block per cell: how a kernel splits a stream into outputs is chance
            lines.append("[output]")
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                lines.append(f"{output.get('ename')}: {output.get('evalue')}")
                continue
            body = output.get("text") or "".join(output.get("data", {}).get("text/plain", ""))
            lines += str(body).splitlines()
    return lines


def sources_of(nb) -> list[str]:
    return text_of({"cells": [{"cell_type": c["cell_type"], "source": c["source"]} for c in nb["cells"]]})


def errors_in(nb, expected: bool = False) -> list[str]:
    """The errors a notebook's outputs show; those of cells tagged `raises-exception` only when `expected`."""
    return [f"{o.get('ename')}: {o.get('evalue')}" for c in nb["cells"] for o in c.get("outputs", [])
            if o.get("output_type") == "error"
            and expected == ("raises-exception" in c.get("metadata", {}).get("tags", []))]


def stable_json(nb) -> str:
    """The notebook as committed: nbformat's JSON with cell ids made from their position (no random ids)."""
    import nbformat

    for i, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{i}"
    return nbformat.writes(nb) + "\n"
