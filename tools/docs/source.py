"""The guide's code blocks, cut with `ast` out of the real stage files: never a copy kept anywhere else."""

from __future__ import annotations

import ast
import importlib.util
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parents[2]  # the checkout: torchnet/, jaxnet/, netdata/, docs/
BLOCKS = ("imports", "model", "data", "train", "test")  # the lecture's four steps, after the imports
FRAMEWORKS = {"torch": "torchnet", "jax": "jaxnet"}
# Which block each top-level function belongs to; every class defines the model.
MODEL = {"build", "forward", "adam", "_layer", "_params", "_paths"}
TRAIN = {"loss_fn", "mse", "cross_entropy", "loss_of", "loss_and_grads", "train_step", "train"}
TEST = {"predict", "export", "main"}
DATA_NAMES = {"x", "y", "labels", "xs", "ys", "x_train", "x_test", "y_train", "y_test"}

Reader = Callable[[str], str]  # path relative to the checkout -> its text


def read(rel: str) -> str:
    return (ROOT / rel).read_text(encoding="utf-8")


def stage_path(framework: str, stage: str) -> str:
    """`torchnet/<stage>.py`, found without importing the stage (or its framework)."""
    spec = importlib.util.find_spec(f"{FRAMEWORKS[framework]}.{stage}")
    origin = Path(spec.origin).resolve() if spec and spec.origin else ROOT / FRAMEWORKS[framework] / f"{stage}.py"
    try:
        return origin.relative_to(ROOT).as_posix()
    except ValueError:  # an installed copy outside the checkout: name it as in the checkout
        return f"{FRAMEWORKS[framework]}/{stage}.py"


class Piece(NamedTuple):
    name: str  # what the piece is: a function or class name, "imports", "main: data"
    path: str  # relative to the checkout
    first: int  # 1-based line numbers in that file, for links
    last: int
    code: str


class StageSource(NamedTuple):
    path: str
    doc: str  # the module docstring's first line
    blocks: dict[str, list[Piece]]  # block name -> pieces in file order
    names: list[str]  # every top-level function and class, in file order
    problems: list[str]  # netdata.problems functions that main() loads its data with


def _start(node: ast.stmt, lines: list[str]) -> int:
    """First line of a node, taking in its decorators and the comment lines right above it."""
    first = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])
    while first > 1 and lines[first - 2].lstrip().startswith("#"):
        first -= 1
    return first


def _piece(name: str, path: str, lines: list[str], first: int, last: int, dedent: int = 0) -> Piece:
    code = "\n".join(line[dedent:] if line[:dedent].isspace() else line for line in lines[first - 1:last])
    return Piece(name, path, first, last, code)


def _block_of(node: ast.stmt) -> str | None:
    if isinstance(node, ast.ClassDef):
        return "model"
    if isinstance(node, ast.FunctionDef):
        for block, names in (("model", MODEL), ("train", TRAIN), ("test", TEST)):
            if node.name in names:
                return block
        return "other"
    if isinstance(node, ast.If):  # if __name__ == "__main__": how the file runs as a program
        return "test"
    return None  # an import or a constant: attached below


def _names(target: ast.expr) -> list[str]:
    if isinstance(target, ast.Name):
        return [target.id]
    if isinstance(target, (ast.Tuple, ast.List)):
        return [n for elt in target.elts for n in _names(elt)]
    return ["?"]


def _data_lines(main: ast.FunctionDef, path: str, lines: list[str]) -> list[Piece]:
    """The statements of main() that make the data: every assignment whose targets are all data names."""
    out = []
    for stmt in main.body:
        if isinstance(stmt, ast.Assign) and all(set(_names(t)) <= DATA_NAMES for t in stmt.targets):
            out.append(_piece("main", path, lines, stmt.lineno, stmt.end_lineno, dedent=stmt.col_offset))
    return out


def _problem_calls(main: ast.FunctionDef) -> list[str]:
    found = []
    for node in ast.walk(main):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name) and node.func.value.id == "problems"
                and node.func.attr not in found):
            found.append(node.func.attr)
    return found


def stage_source(framework: str, stage: str, reader: Reader = read) -> StageSource:
    """One stage file cut into the guide's blocks; imports and constants before the first definition
    go to "imports", a statement between definitions goes with the definition that follows it."""
    path = stage_path(framework, stage)
    text = reader(path)
    tree = ast.parse(text)
    lines = text.splitlines()
    blocks: dict[str, list[Piece]] = {b: [] for b in (*BLOCKS, "other")}
    body = list(tree.body)
    doc = ast.get_docstring(tree) or ""
    if doc:
        body = body[1:]
    names, problems, pending_from, head = [], [], None, None  # head: (first, last) line of the imports
    for node in body:
        block = _block_of(node)
        if block is None:
            if not any(blocks.values()):  # before the first definition
                head = (head[0] if head else _start(node, lines), node.end_lineno)
            elif pending_from is None:
                pending_from = _start(node, lines)
            continue
        name = getattr(node, "name", "__main__")
        first = pending_from if pending_from is not None else _start(node, lines)
        pending_from = None
        blocks[block].append(_piece(name, path, lines, first, node.end_lineno))
        if name != "__main__":
            names.append(name)
        if isinstance(node, ast.FunctionDef) and node.name == "main":
            blocks["data"] = _data_lines(node, path, lines)
            problems = _problem_calls(node)
    if pending_from is not None:  # trailing statements after the last definition
        blocks["other"].append(_piece("end of file", path, lines, pending_from, len(lines)))
    if head:
        blocks["imports"] = [_piece("imports", path, lines, *head)]
    return StageSource(path, doc.splitlines()[0] if doc else "", blocks, names, problems)


def function_source(rel: str, name: str, reader: Reader = read) -> Piece:
    """A top-level function or class of any checkout file, e.g. netdata/problems.py's `lecture`."""
    text = reader(rel)
    lines = text.splitlines()
    for node in ast.parse(text).body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name == name:
            return _piece(name, rel, lines, _start(node, lines), node.end_lineno)
    raise LookupError(f"{rel} has no function {name!r}")
