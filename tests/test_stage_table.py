"""Every fact about a stage is defined once, in netdata.stages; stage modules are loaded in one place."""

import ast
import re
from pathlib import Path

import pytest

from netdata.stages import NAMES, STAGES
from training import stages

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("netdata", "training", "torchnet", "jaxnet", "equivalence")
TABLE = ROOT / "netdata" / "stages.py"


def sources():
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if path != TABLE:
                yield path


def stage_literals(tree: ast.AST) -> list[tuple[int, list[str]]]:
    """Literals that list two or more stage names, or map them to constants: a stage fact written down again."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
            names = [e.value for e in node.elts if isinstance(e, ast.Constant) and e.value in NAMES]
        elif isinstance(node, ast.Dict):
            constant = all(isinstance(v, ast.Constant) for v in node.values)
            names = [k.value for k in node.keys if isinstance(k, ast.Constant) and k.value in NAMES] if constant else []
        else:
            continue
        if len(names) >= 2:
            found.append((node.lineno, names))
    return found


def test_no_shipped_module_lists_stage_names_outside_the_table():
    offenders = [f"{path.relative_to(ROOT)}:{line} {names}" for path in sources()
                 for line, names in stage_literals(ast.parse(path.read_text(encoding="utf-8")))]
    assert offenders == []


def test_the_literal_finder_sees_a_tuple_and_a_dict_of_stage_facts():
    tree = ast.parse('A = ("manual", "autograd")\nB = {"nn": 0.1, "optim": 1e-2}\nC = {"mlp": f(), "cnn": g()}')
    assert [line for line, _ in stage_literals(tree)] == [1, 2]


def test_stage_modules_are_imported_by_name_only_in_training_stages():
    pattern = re.compile(r"import_module\(f?[\"'](jaxnet|torchnet)\.")
    offenders = [str(path.relative_to(ROOT)) for path in sources()
                 if path.name != "stages.py" or path.parent.name != "training"
                 if pattern.search(path.read_text(encoding="utf-8"))]
    assert offenders == []


@pytest.mark.parametrize("framework", ["jax", "torch"])
@pytest.mark.parametrize("name", NAMES)
def test_every_stage_module_has_the_api_the_protocol_names(framework, name):
    module = stages.module(framework, name)
    api = [n for n in vars(stages.StageModule) if not n.startswith("_")]
    assert api and all(callable(getattr(module, n, None)) for n in api), (framework, name)


def test_the_table_is_consistent_with_itself():
    for stage in STAGES.values():
        assert stage.classifier == (stage.loss == "cross_entropy")
        assert stage.dtype in ("float32", "float64") and stage.lr > 0 and stage.check_lr > 0
