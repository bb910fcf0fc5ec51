"""Twin stage files mirror each other: the same public names and parameters, and programs that print the same lines."""

import ast
import importlib
import re
from pathlib import Path

import pytest

from equivalence.lecture.stages import STAGES
from equivalence.tolerance import TOLERANCES
from jaxnet import device
from netdata import problems

ROOT = Path(__file__).resolve().parents[1]
# One worker for this file and tests/test_stages_learn.py, one after the other: they train the lesson programs at the
# same shapes, so each JAX program is compiled once, in memory, for both.
pytestmark = pytest.mark.xdist_group("lesson-programs")


def public_api(path: Path) -> list[tuple[str, tuple[str, ...]]]:
    """Top-level public functions with their parameter names, and classes with their NamedTuple fields, in order."""
    out = []
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if not isinstance(node, (ast.FunctionDef, ast.ClassDef)) or node.name.startswith("_"):
            continue
        if isinstance(node, ast.FunctionDef):
            a = node.args
            params = [p.arg for p in (*a.posonlyargs, *a.args)]
            params += [f"*{a.vararg.arg}"] if a.vararg else []
            params += [p.arg for p in a.kwonlyargs] + ([f"**{a.kwarg.arg}"] if a.kwarg else [])
            out.append((node.name, tuple(params)))
        else:
            fields = [s.target.id for s in node.body if isinstance(s, ast.AnnAssign) and isinstance(s.target, ast.Name)]
            out.append((f"class {node.name}", tuple(fields)))
    return out


@pytest.mark.parametrize("stage", STAGES)
def test_twin_stage_files_define_the_same_public_functions_with_the_same_parameters(stage):
    torch_api, jax_api = public_api(ROOT / "torchnet" / f"{stage}.py"), public_api(ROOT / "jaxnet" / f"{stage}.py")
    assert torch_api == jax_api
    names = [name for name, _ in torch_api]
    assert {"build", "predict", "loss_of", "loss_and_grads", "train_step", "train", "export", "main"} <= set(names)
    assert dict(torch_api)["train_step"][:2] == ("trainer", "x")  # (trainer, x, y or labels)


def step_comments(path: Path) -> dict[str, str]:
    """The lecture's numbered step comments at the top level ("# 3. Train: ...") -> the definition they sit above."""
    lines = path.read_text(encoding="utf-8").splitlines()
    out, step = {}, None
    for line in lines:
        if line[:2] == "# " and line[2:3].isdigit() and line[3:4] == ".":
            step = line[2]
        elif step and line.startswith(("def ", "class ")):
            out[step], step = line.split()[1].split("(")[0].rstrip(":"), None
    return out


@pytest.mark.parametrize("stage", STAGES)
def test_the_lecture_step_comments_sit_above_the_same_definitions_in_both_twins(stage):
    torch_steps = step_comments(ROOT / "torchnet" / f"{stage}.py")
    jax_steps = step_comments(ROOT / "jaxnet" / f"{stage}.py")
    assert "1" in torch_steps and "3" in torch_steps
    assert torch_steps == jax_steps


def test_the_api_reader_sees_a_renamed_parameter(tmp_path):
    a, b = tmp_path / "a.py", tmp_path / "b.py"
    a.write_text("def train_step(trainer, x, y):\n    pass\n_private = 1\n")
    b.write_text("def train_step(model, x, y):\n    pass\n")
    assert public_api(a) == [("train_step", ("trainer", "x", "y"))]
    assert public_api(a) != public_api(b)


def printed(capsys, module: str) -> list[str]:
    importlib.import_module(module).main()
    return capsys.readouterr().out.splitlines()


# Fewer steps than the programs' own 5000 and 500, so the test stays cheap; 300 lecture steps is the shape
# tests/test_stages_learn.py trains, so JAX compiles each linear stage's scan once for both files.
@pytest.mark.parametrize("stage", STAGES)
def test_twin_programs_start_from_the_same_weights_and_print_the_same_lines(stage, capsys, monkeypatch):
    monkeypatch.setattr(problems, "LECTURE_STEPS", 300)
    monkeypatch.setattr(problems, "MLP_STEPS", 200)
    monkeypatch.setattr(problems, "CNN_STEPS", 10)  # full-batch digits: 10 steps already print equal lines
    torch_lines = printed(capsys, f"torchnet.{stage}")
    with device.context():  # float32 matmuls at "highest" precision, as jaxnet's `python -m` runs it
        jax_lines = printed(capsys, f"jaxnet.{stage}")
    assert len(torch_lines) == 2 and torch_lines[0].startswith("loss ")
    assert_same_lines(jax_lines, torch_lines, TOLERANCES["float32"].rel)


NUMBER = re.compile(r"-?\d+(?:\.(\d+))?(?:e[-+]?\d+)?")


def assert_same_lines(ours: list[str], theirs: list[str], rel: float) -> None:
    """The same words, and numbers equal within `rel` of their size plus one unit of the last printed digit (each side
    rounds its own value by up to half a unit): two correct float32 programs may print 268.4542 and 268.4543."""
    assert [NUMBER.sub("#", line) for line in ours] == [NUMBER.sub("#", line) for line in theirs]
    for a, b in zip(ours, theirs):
        for ma, mb in zip(NUMBER.finditer(a), NUMBER.finditer(b)):
            unit = 10.0 ** -max(len(ma.group(1) or ""), len(mb.group(1) or ""))
            x, y = float(ma.group()), float(mb.group())
            assert abs(x - y) <= rel * max(abs(x), abs(y)) + unit, f"{ma.group()} != {mb.group()} in {a!r} / {b!r}"


def test_printed_lines_compare_by_value_not_by_rounding():
    assert_same_lines(["loss 268.4542 -> 179.6173"], ["loss 268.4543 -> 179.6173"], 1e-5)
    with pytest.raises(AssertionError):
        assert_same_lines(["loss 268.4542 -> 179.6173"], ["loss 268.4842 -> 179.6173"], 1e-5)
    with pytest.raises(AssertionError):
        assert_same_lines(["loss 268.4542 after"], ["loss 268.4542 before"], 1e-5)
