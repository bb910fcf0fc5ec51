"""The README: short, every figure rendered from docs/measured/*.json, every link and command real."""

from __future__ import annotations

import json
import re
import shutil
import tomllib
from pathlib import Path

import pytest

from netdata import problems
from tools.docs import readme, record

ROOT = Path(__file__).resolve().parents[1]
TEXT = readme.README.read_text(encoding="utf-8")
# The prose pages the README sends a reader to, whose links must also resolve.
PAGES = ("README.md", "README.ko.md", "docs/troubleshooting.md", "docs/troubleshooting.ko.md", "docs/lecture.md",
         "docs/lecture.ko.md", "docs/glossary.md", "docs/training.md", "docs/equivalence.md", "docs/speed.md")
READMES = {"en": readme.README, "ko": readme.README_KO}
LINK = re.compile(r"\]\(([^)\s]+)\)")


def _links(page: Path) -> list[str]:
    return [t for t in LINK.findall(page.read_text(encoding="utf-8")) if not re.match(r"[a-z]+:|#", t)]


def _names(text: str) -> list[str]:
    return [m["name"] for m in readme.MARKER.finditer(text)]


# What a first page must hold, in each language: the sample's two columns, and the three start-here paths.
START_HERE = {"en": ("## Start here", "**Learn", "**Check your own port.**", "**Train.**"),
              "ko": ("## 여기서 시작하세요", "**PyTorch에서 JAX를", "**직접 옮긴 모델을 검사하려면.**", "**훈련하려면.**")}
SAMPLE = re.compile(r"<table><tr><th>PyTorch</th><th>JAX[^<]*</th></tr><tr><td>\n\n```python\n(?P<torch>.*?)```\n\n"
                    r"</td><td>\n\n```python\n(?P<jax>.*?)```\n\n</td></tr></table>", re.S)


@pytest.mark.parametrize("lang", READMES)
def test_each_readme_is_a_first_page_of_at_most_150_lines(lang):
    text = READMES[lang].read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 150
    sample = SAMPLE.search(text)
    assert sample, "the side-by-side training step (torch | JAX) is missing"
    assert all(len(sample[side].splitlines()) <= 10 for side in ("torch", "jax"))
    for path in START_HERE[lang]:
        assert path in text, path
    assert text.index(START_HERE[lang][0]) < text.index("<!-- generated: commands -->"), "benchmarks come last"
    for link in ("docs/notebooks/", "docs/port.md", "docs/training.md", "docs/glossary.md"):
        assert f"]({link})" in text, link
    assert "bash scripts/run" in text and "bash scripts/test" in text


def test_both_readmes_show_the_same_sample_and_sections():
    en, ko = (READMES[lang].read_text(encoding="utf-8") for lang in ("en", "ko"))
    strip = lambda code: [line.split("#")[0].rstrip() for line in code.splitlines()]  # comments are translated
    for side in ("torch", "jax"):
        assert strip(SAMPLE.search(en)[side]) == strip(SAMPLE.search(ko)[side])
    assert _names(en) == _names(ko)


def test_the_side_by_side_sample_runs_and_both_columns_learn():
    """Both columns of the README's sample, run as written on a learnable linear problem: the loss falls."""
    import numpy as np

    sample = SAMPLE.search(TEXT)
    rng = np.random.default_rng(0)
    x_np = rng.standard_normal((64, 4)).astype(np.float32)
    y_np = x_np @ rng.standard_normal((4, 2)).astype(np.float32)
    torch_ns = {"torch": __import__("torch"), "F": __import__("torch.nn.functional", fromlist=["_"])}
    torch_ns["torch"].manual_seed(0)
    exec(sample["torch"], torch_ns)  # noqa: S102 - the README's own code
    x, y = torch_ns["torch"].from_numpy(x_np), torch_ns["torch"].from_numpy(y_np)
    torch_losses = [torch_ns["step"](x, y).item() for _ in range(300)]
    import optax
    from flax import nnx

    jax_ns = {"nnx": nnx, "optax": optax}
    exec(sample["jax"], jax_ns)  # noqa: S102 - the README's own code
    jax_losses = [float(jax_ns["step"](jax_ns["model"], jax_ns["opt"], x_np, y_np)) for _ in range(300)]
    for losses in (torch_losses, jax_losses):
        assert losses[-1] < 0.05 * losses[0], (losses[0], losses[-1])


@pytest.mark.parametrize("lang", READMES)
def test_every_generated_section_matches_its_json(lang):
    text = READMES[lang].read_text(encoding="utf-8")
    assert "tested-with" in _names(text)
    assert readme.drift(text, lang=lang) == [], f"run `python -m tools.docs.readme --write` and commit {READMES[lang].name}"


def test_the_korean_readme_renders_its_sections_in_korean():
    text = readme.README_KO.read_text(encoding="utf-8")
    for words in ("CI에서 시험한 환경", "통과한 행", "첫 실행", "스텝당", "테스트 정확도"):
        assert words in text, words
    assert "Tested in CI" not in text and "rows passing" not in text


@pytest.mark.parametrize("page", [p for p in PAGES if (ROOT / p).exists()])
def test_every_link_points_to_an_existing_file(page):
    path = ROOT / page
    missing = [t for t in _links(path) if not (path.parent / t.split("#")[0]).exists()]
    assert missing == []


def test_the_readme_links_every_page_of_docs_it_names():
    linked = {(ROOT / t).resolve() for t in _links(readme.README)}
    for name in ("guide.md", "guide.ko.md", "notebooks", "jax-for-torch-users.md", "pitfalls.md", "port.md",
                 "translate.md", "parallel.md", "gpu-report.md", "glossary.md", "lecture.md", "lecture.ko.md",
                 "troubleshooting.md", "LICENSE", "README.ko.md"):
        assert any(p.name == name for p in linked), name


def test_the_korean_readme_links_the_korean_pages():
    linked = {(ROOT / t).resolve() for t in _links(readme.README_KO)}
    for name in ("guide.ko.md", "notebooks", "jax-for-torch-users.ko.md", "pitfalls.ko.md", "port.md", "translate.md",
                 "parallel.md", "gpu-report.md", "glossary.md", "lecture.ko.md", "troubleshooting.ko.md", "LICENSE",
                 "README.md"):
        assert any(p.name == name for p in linked), name


def test_every_command_the_readme_runs_exists():
    scripts = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"])
    tools = set(re.findall(r"\.venv/bin/([\w-]+)", TEXT)) - {"python", "pip"}
    assert tools and tools <= scripts
    for script in re.findall(r"bash (scripts/\w[\w-]*)", TEXT):
        assert (ROOT / script).is_file(), script
    assert "TORCH_SPEC" in (ROOT / "scripts/setup").read_text()


def test_the_lectures_constants_are_the_ones_the_code_uses():
    text = " ".join(TEXT.split())  # a sentence may wrap
    assert f"`N, Din, Dout = {problems.N}, {problems.DIN}, {problems.DOUT}`" in text
    lr = f"{problems.LECTURE_LR:.0e}".replace("e-0", "e-")  # 1e-6, as the lecture writes it
    assert f"for {problems.LECTURE_STEPS} steps at lr {lr}" in text
    korean = " ".join(readme.README_KO.read_text(encoding="utf-8").split())
    assert f"`N, Din, Dout = {problems.N}, {problems.DIN}, {problems.DOUT}`" in korean
    assert f"학습률 {lr}으로 {problems.LECTURE_STEPS} 스텝" in korean


@pytest.fixture
def copy(tmp_path) -> tuple[Path, Path]:
    """The README and docs/measured/ copied, so a test may change either."""
    shutil.copy(readme.README, tmp_path / "README.md")
    shutil.copytree(readme.MEASURED, tmp_path / "measured")
    return tmp_path / "README.md", tmp_path / "measured"


def _edit_json(folder: Path, name: str, change) -> None:
    data = json.loads((folder / name).read_text())
    change(data)
    (folder / name).write_text(json.dumps(data))


JSON_CHANGES = {
    "a newer torch": ("tested-with", "env.json", lambda d: d["lanes"]["pinned"].update(torch="9.9.9")),
    "a worse float64 gradient": ("equivalence", "equivalence.json",
                                 lambda d: next(r for r in d["float64"]["results"]
                                                if r["quantity"] == "gradients").update(rel_err=3e-13)),
    "a failing float32 row": ("equivalence", "equivalence.json",
                              lambda d: d["float32"]["results"][0].update(passed=False)),
    "a slower first CLI run": ("commands", "bench-cli.json", lambda d: d["runs"][0].update(wall_s=d["runs"][0]["wall_s"] + 9)),
    "a faster jax-scan": ("speed", "bench-seed.json",
                          lambda d: next(r for r in d["results"] if r["impl"] == "jax-scan").update(
                              x_vs_best_torch=2 * next(r for r in d["results"] if r["impl"] == "jax-scan")["x_vs_best_torch"])),
    "a lower test accuracy": ("accuracy", "defaults.json",
                              lambda d: next(iter(d["data"].values()))["runs"]["defaults"]["jax"].update(test_accuracy=0.5)),
}


@pytest.mark.parametrize("case", JSON_CHANGES, ids=list(JSON_CHANGES))
def test_a_changed_json_makes_its_section_stale_until_written(copy, case):
    section, name, change = JSON_CHANGES[case]
    text_path, measured = copy
    if section not in _names(text_path.read_text()):
        pytest.skip(f"the README shows no {section} section")
    _edit_json(measured, name, change)
    args = ["--readme", str(text_path), "--measured", str(measured)]
    assert readme.main(["--check", *args]) == 1
    assert readme.main(["--write", *args]) == 0
    assert readme.main(["--check", *args]) == 0
    assert readme.drift(text_path.read_text(), measured) == []


def test_a_hand_edited_figure_is_caught(copy):
    text_path, measured = copy
    text = text_path.read_text()
    body = readme.MARKER.search(text)["body"]
    edited = re.sub(r"\d", lambda m: str((int(m[0]) + 1) % 10), body, count=1)
    assert edited != body
    assert readme.drift(text.replace(body, edited), measured) == [readme.MARKER.search(text)["name"]]


def test_a_missing_json_exits_2_naming_the_command_that_writes_it(copy, capsys):
    text_path, measured = copy
    (measured / "env.json").unlink()
    assert readme.main(["--check", "--readme", str(text_path), "--measured", str(measured)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "--measure env" in err


def test_env_names_the_installed_versions_of_every_package():
    env = record.env()
    assert set(readme.PACKAGES) | {"python", "platform"} <= set(env)
    import torch
    assert record.same_version(env["torch"], torch.__version__)  # metadata says 2.13.0, torch 2.13.0+cu130


@pytest.mark.parametrize("a, b, same", [("2.13.0", "2.13.0+cu130", True), ("2.13.0+cpu", "2.13.0+cu130", True),
                                        ("2.13", "2.13.0", True), ("2.13.0", "2.13.1", False),
                                        ("0.10.2", "0.10.2rc1", False)])
def test_versions_compare_as_releases_not_as_strings(a, b, same):
    assert record.same_version(a, b) is same


def _pins() -> dict[str, str]:
    lines = (ROOT / ".ci" / "pinned.txt").read_text().splitlines()
    return dict(line.split("==") for line in lines if line and not line.startswith("#"))


def test_every_lower_bound_in_pyproject_is_the_version_the_pinned_lane_installs():
    from packaging.requirements import Requirement

    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = [Requirement(r) for r in meta["dependencies"] + meta["optional-dependencies"]["test"]]
    pins = _pins()
    for req in requirements:
        lower = [spec.version for spec in req.specifier if spec.operator == ">="]
        assert lower, f"{req}: no lower bound"
        assert req.name in pins and record.same_version(lower[0], pins[req.name]), (req, pins.get(req.name))


def test_the_readme_names_the_pinned_lane_with_the_pinned_versions():
    lanes = json.loads((ROOT / "docs" / "measured" / "env.json").read_text())["lanes"]
    assert {"pinned", "newest"} <= set(lanes)
    pins = _pins()
    for package in readme.PACKAGES:
        assert record.same_version(lanes["pinned"][package], pins[package])
    assert lanes["pinned"]["python"].startswith("3.11.") and lanes["newest"]["python"].startswith("3.12.")
    assert lanes["newest-3.13"]["python"].startswith("3.13.")
    ci = (ROOT / ".ci" / "run").read_text()
    assert all(f"lane {name} " in ci for name in lanes)  # every lane the README names is one CI runs


def test_the_tested_with_line_lists_each_lane_that_ran():
    text = readme.render_env({"lanes": {"pinned": {"python": "3.11.7", "platform": "Linux x86_64",
                                                   **dict.fromkeys(readme.PACKAGES, "1.0")},
                                        "newest": {"python": "3.12.1", "platform": "Linux x86_64", "date": "2026-12-07",
                                                   **dict.fromkeys(readme.PACKAGES, "2.0")}}})
    assert "Python 3.11.7, jax 1.0" in text and "Python 3.12.1, jax 2.0" in text and "2026-12-07" in text


@pytest.mark.parametrize("name", list(readme.SECTIONS))
def test_a_json_without_its_fields_names_the_command_that_rewrites_it(tmp_path, name):
    section = readme.SECTIONS[name]
    for source in section.sources:
        (tmp_path / source).write_text("{}")
    with pytest.raises(readme.MissingMeasurement, match=re.escape(section.writer)):
        readme.render(name, tmp_path)
