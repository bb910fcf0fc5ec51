"""Import boundaries: netdata and training are NumPy only, torchnet never imports jax, jaxnet never imports torch,
and no shipped package imports what stays in the checkout (tools/, benchmarks/, tests/)."""

import ast
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
FORBIDDEN = {
    "netdata": {"torch", "jax", "jaxlib", "flax", "optax", "training"},  # the ground floor imports nothing above it
    "training": {"torch", "jax", "jaxlib", "flax", "optax"},
    "torchnet": {"jax", "jaxlib", "flax", "optax"},
    "jaxnet": {"torch"},
}
SHIPPED = ("netdata", "training", "torchnet", "jaxnet", "equivalence")  # the wheel's packages (tests/test_wheel.py)
CHECKOUT_ONLY = {"tools", "benchmarks", "tests"}  # not in the wheel: an import of them fails once installed


def imported_roots(path: pathlib.Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            roots |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_source_never_imports_the_other_framework(package):
    for path in sorted((ROOT / package).rglob("*.py")):
        bad = imported_roots(path) & FORBIDDEN[package]
        assert not bad, f"{path.relative_to(ROOT)} imports {bad}"


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_importing_every_module_loads_no_forbidden_framework(package):
    modules = [p.relative_to(ROOT).with_suffix("").as_posix().replace("/", ".").removesuffix(".__init__")
               for p in sorted((ROOT / package).rglob("*.py")) if p.name != "__main__.py"]
    code = ("import importlib, sys\n"
            f"for m in {modules!r}: importlib.import_module(m)\n"
            f"print(sorted(set(sys.modules) & {FORBIDDEN[package]!r}))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", f"{package} loaded {out.stdout.strip()}"


@pytest.mark.parametrize("package", SHIPPED)
def test_shipped_packages_never_import_the_checkouts_tools(package):
    for path in sorted((ROOT / package).rglob("*.py")):
        bad = imported_roots(path) & CHECKOUT_ONLY
        assert not bad, f"{path.relative_to(ROOT)} imports {bad}, which the wheel does not ship"
