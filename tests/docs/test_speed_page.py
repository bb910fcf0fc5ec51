"""docs/speed.md: every measured figure is generated from docs/measured/, and each table says what it measured."""

from __future__ import annotations

import json
import re
import shutil

import pytest

from tools.docs import readme, speedpage

PAGE = readme.ROOT / "docs" / "speed.md"
TEXT = PAGE.read_text(encoding="utf-8")
SECTIONS = ("commands-rows", "bench-seed-rows", "bench-mlp-rows", "memmap")
# A measurement typed by hand: a time, a rate, a share or a speed-up (not "64 × 4", a shape).
FIGURE = re.compile(r"\d(?:\.\d+)?\s*(?:µs|ms\b|GFLOP/s|GB/s|steps/s|%)|\d(?:\.\d+)?×(?!\s*\d)")


def _load(name: str) -> dict:
    return json.loads((readme.MEASURED / name).read_text(encoding="utf-8"))


def test_the_page_shows_every_table_and_each_matches_its_json():
    assert [m["name"] for m in readme.MARKER.finditer(TEXT)] == list(SECTIONS)
    assert readme.drift(TEXT) == [], "run `python -m tools.docs.readme --write` and commit docs/speed.md"
    assert readme.main(["--check"]) == 0  # the default pages: the README and this one


def test_no_figure_is_typed_outside_the_generated_tables():
    prose = readme.MARKER.sub("", TEXT)
    assert FIGURE.findall(prose) == []
    assert FIGURE.search("took 3.4 µs, 92× the best") and not FIGURE.search("64 × 4 → 2")  # the pattern itself


def test_every_benchmark_row_is_shown_with_its_ratio_to_the_fastest_torch_row():
    for problem in ("seed", "mlp"):
        res = _load(f"bench-{problem}.json")
        table = speedpage.render_bench_rows(res, "cmd")
        for r in res["results"]:
            assert f"`{r['impl']}`" in table
            assert r["impl"] in speedpage.IMPL_WORDS  # every implementation is described in words
        best = res["best_torch"]
        assert f"| **`{best}`** |" in table and f"fastest torch row (bold): `{best}`" in table
        best_row = next(line for line in table.splitlines() if f"**`{best}`**" in line)
        assert best_row.split(" | ")[5] == "1.00×"  # the fastest torch row against itself
        assert ("× roofline estimate" in table) == (res.get("us_per_step_ceiling") is not None)


def test_a_skipped_row_says_why_and_fills_its_row():
    res = _load("bench-seed.json")
    res["results"] = [{"impl": "torch-cudagraph", "us_per_step": None, "skipped": "needs CUDA"}]
    line = speedpage.render_bench_rows(res, "cmd").splitlines()[2]
    assert "skipped: needs CUDA" in line and line.count("|") == speedpage.render_bench_rows(
        _load("bench-seed.json"), "cmd").splitlines()[2].count("|")


def test_each_cli_run_shows_where_its_seconds_went_and_its_budget():
    cli = _load("bench-cli.json")
    table = speedpage.render_cli_rows(cli, "cmd")
    assert len([line for line in table.splitlines() if line.startswith("| `")]) == len(cli["runs"])
    assert "plain PyTorch" in table
    for r in cli["runs"]:
        verdict = "met" if r["within_budget"] else "**over**"
        assert f"{r['budget_s']:.2f} s {verdict}" in table


def test_a_changed_benchmark_makes_the_page_stale_until_written(tmp_path):
    page, measured = tmp_path / "speed.md", tmp_path / "measured"
    shutil.copy(PAGE, page)
    shutil.copytree(readme.MEASURED, measured)
    data = json.loads((measured / "bench-memmap.json").read_text())
    data["results"][0]["steps_per_s"] *= 2
    (measured / "bench-memmap.json").write_text(json.dumps(data))
    args = ["--readme", str(page), "--measured", str(measured)]
    assert readme.main(["--check", *args]) == 1
    assert readme.main(["--write", *args]) == 0 and readme.main(["--check", *args]) == 0


@pytest.mark.parametrize("name", SECTIONS)
def test_each_section_names_the_command_that_measures_it(name):
    body = next(m["body"] for m in readme.MARKER.finditer(TEXT) if m["name"] == name)
    assert f"(`{readme.SECTIONS[name].writer}`)" in body
