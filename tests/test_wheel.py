"""The wheel ships the five packages and nothing else: no doc generator (tools/), tests, benchmarks or docs."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = {"netdata", "training", "torchnet", "jaxnet", "equivalence"}
# Not sources: what a checkout gathers (setuptools' own build/ and *.egg-info included, so the copy starts clean).
NOT_SOURCES = shutil.ignore_patterns(".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".*cache",
                                     "runs", "gpu-report")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """Built from a copy of the checkout, so that setuptools' build/ and egg-info never land in it. The build
    backend is called as `pip wheel --no-build-isolation` calls it, without pip's second pass (1.7 s, not 4.9 s)."""
    src = tmp_path_factory.mktemp("wheel") / "checkout"
    shutil.copytree(ROOT, src, ignore=NOT_SOURCES)
    started = time.perf_counter()
    build = f"from setuptools import build_meta; build_meta.build_wheel({str(src.parent)!r})"
    subprocess.run([sys.executable, "-c", build], cwd=src, check=True, capture_output=True, text=True)
    print(f"wheel built in {time.perf_counter() - started:.1f} s")
    (path,) = src.parent.glob("*.whl")
    return path


def test_the_wheel_ships_the_five_packages_only(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    tops = {name.split("/")[0] for name in names}
    assert tops - {d for d in tops if d.endswith(".dist-info")} == SHIPPED
    assert not [n for n in names if "/docs/" in f"/{n}"], "a docs folder (the generator) is in the wheel"
    assert "netdata/data/README.md" in names  # package data still ships


def test_the_doc_generator_is_not_importable_from_the_wheel(wheel, tmp_path):
    """A bare interpreter (no site-packages, no checkout on the path) with only the wheel to import from."""
    code = ("import importlib.util, sys\n"
            f"sys.path.insert(0, {str(wheel)!r})\n"
            "import equivalence\n"
            "print(equivalence.__file__.startswith(sys.path[0]),\n"
            "      [m for m in ('tools', 'equivalence.docs') if importlib.util.find_spec(m) is not None])")
    done = subprocess.run([sys.executable, "-I", "-S", "-c", code], cwd=tmp_path, capture_output=True, text=True,
                          check=True)
    assert done.stdout.split() == ["True", "[]"], done.stdout + done.stderr
