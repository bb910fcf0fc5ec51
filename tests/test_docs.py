"""`equivalence docs`: the committed guides match the code, drift is caught, both guides show every stage's code."""

import re
from pathlib import Path

import pytest

from equivalence import docs
from equivalence.check import PAIRS, QUANTITIES
from equivalence.cli import main
from equivalence.docs import text_en, text_ko
from equivalence.docs.calls import CALLS, STAGE_PITFALLS
from equivalence.docs.measured import bucket, same_line
from equivalence.docs.render import anchor
from equivalence.docs.source import FRAMEWORKS, ROOT, read, stage_path, stage_source
from equivalence.stages import STAGES

DOCS = ROOT / "docs"
KOREAN_TERMS = ("순전파", "역전파", "손실 함수", "경사 하강법")


def fake_measured(err: float = 3e-8, passed: bool = True) -> dict:
    """Check results in the shape measure_all returns, without running 5000 steps."""
    def rows(stage, dtype):
        tol = 1e-5 if dtype == "float32" else 1e-12
        scale = 1.0 if dtype == "float32" else 1e-8
        return [{"stage": stage, "quantity": q, "pair": f"{a}-{b}", "rel_err": err * scale, "max_abs": err,
                 "tol": tol, "passed": passed, "first_bad_step": None} for q in QUANTITIES for a, b in PAIRS]

    return {"results": {d: {s: rows(s, d) for s in STAGES} for d in ("float32", "float64")},
            "losses": {}, "steps": 5000}


def edit(path: str, old: str, new: str):
    """A source reader that sees one stage file edited."""
    def reader(rel: str) -> str:
        text = read(rel)
        return text.replace(old, new, 1) if rel == path else text

    assert old in read(path), f"{path} no longer contains {old!r}: pick another line to edit"
    return reader


@pytest.mark.slow  # 5000 steps x 6 stages x 2 dtypes: `--full` (the short suite checks the guides' code, not numbers)
def test_every_stage_passes_the_lecture_run_and_the_committed_guides_match_it(capsys):
    """The one slow test: every stage x dtype at the lecture's 5000 steps, all 12 rows within tolerance
    (float64 <= 1e-12, float32 <= 1e-5), then `equivalence docs --check` against those same numbers."""
    from equivalence.docs.measured import measure_all
    from equivalence.stages import STAGES

    measured = measure_all(tuple(STAGES), keep_losses=False)
    for dtype, bound in (("float64", 1e-12), ("float32", 1e-5)):
        for stage in STAGES:
            rows = measured["results"][dtype][stage]
            assert len(rows) == 12
            bad = [r for r in rows if not (r["passed"] and r["rel_err"] <= bound)]
            assert not bad, (dtype, stage, bad)
    assert docs.check(DOCS, measured=measured) == 0, capsys.readouterr().out + "\nrun `equivalence docs` and commit docs/"


@pytest.mark.parametrize("side, stage, old, new", [
    ("torch", "nn", "loss.backward()", "loss.backward(retain_graph=True)"),
    ("jax", "optim", "trainer.optimizer.update(trainer.model, grads)", "trainer.optimizer.update(trainer.model, grads)  # edited"),
])
def test_an_edited_stage_file_fails_the_check_and_says_where(tmp_path, capsys, side, stage, old, new):
    measured = fake_measured()
    docs.generate(tmp_path, measured, pictures=False)
    assert docs.check(tmp_path, measured) == 0
    capsys.readouterr()
    assert docs.check(tmp_path, measured, reader=edit(stage_path(side, stage), old, new)) == 1
    out = capsys.readouterr().out
    assert "guide.md differs" in out and "guide.ko.md differs" in out
    assert new in out  # the first differing line, as generated
    assert "run `equivalence docs" in out


def test_a_missing_guide_is_drift(tmp_path, capsys):
    assert docs.check(tmp_path, fake_measured()) == 1
    assert "missing" in capsys.readouterr().out


def test_rounding_noise_is_not_drift_but_a_changed_result_is(tmp_path):
    docs.generate(tmp_path, fake_measured(3e-8), pictures=False)
    assert docs.check(tmp_path, fake_measured(2e-7)) == 0  # one power of ten: another CPU's rounding
    assert docs.check(tmp_path, fake_measured(4e-6)) == 1  # two powers of ten: the code changed
    assert docs.check(tmp_path, fake_measured(3e-8, passed=False)) == 1


def test_errors_are_shown_as_powers_of_ten():
    assert [bucket(e) for e in (0.0, 3.2e-8, 1e-7, 9.99e-16, 1.0)] == ["0", "< 1e-7", "< 1e-6", "< 1e-15", "< 1e1"]
    row = "| float64 | update | < 1e-15 ✓ | 0 ✓ | < 1e-14 ✓ | 1e-12 |"
    assert same_line(row, row.replace("< 1e-15", "< 1e-14"))
    assert same_line(row, row.replace("| 0 ✓", "| < 1e-15 ✓"))  # both 100x inside the tolerance
    assert not same_line(row, row.replace("< 1e-15", "< 1e-13"))
    assert not same_line("| a | b |", "| a | c |")


@pytest.mark.parametrize("name", docs.GUIDES)
@pytest.mark.parametrize("stage", STAGES)
def test_each_guide_shows_most_of_both_stage_files(name, stage):
    text = (DOCS / name).read_text(encoding="utf-8")
    start = text.index(f'<a id="{anchor(stage)}"></a>')
    following = [text.find(f'<a id="{anchor(s)}"></a>') for s in STAGES]
    end = min([i for i in following if i > start] or [len(text)])
    section = text[start:end]
    for side in FRAMEWORKS:
        path = stage_path(side, stage)
        lines = [line.strip() for line in read(path).splitlines() if line.strip()]
        shown = [line for line in lines if line in section]
        assert len(shown) >= 0.7 * len(lines), f"{name} shows {len(shown)} of {len(lines)} lines of {path}"
        for defined in stage_source(side, stage).names:
            assert re.search(rf"^(def|class) {re.escape(defined)}\b", section, re.M), f"{path}: {defined}"


def test_the_korean_guide_is_korean_prose_in_the_lectures_terms():
    text = (DOCS / "guide.ko.md").read_text(encoding="utf-8")
    for term in KOREAN_TERMS:
        assert term in text
    hangul = sum("\uac00" <= c <= "\ud7a3" for c in text)
    assert hangul > 5000, f"only {hangul} Hangul syllables: a stub, not a guide"


def test_both_languages_cover_every_stage_and_pitfall():
    for text in (text_en, text_ko):
        assert set(STAGES) <= set(text.STAGES)
        assert {k for keys in STAGE_PITFALLS.values() for k in keys} <= set(text.PITFALLS)
        assert text_en.LABELS.keys() == text.LABELS.keys() and text_en.BLOCK_TITLES.keys() == text.BLOCK_TITLES.keys()
    assert set(STAGES) <= set(CALLS)


def test_docs_command_rejects_bad_arguments(tmp_path):
    with pytest.raises(SystemExit) as bad:
        main(["docs", "--no-such-flag"])
    assert bad.value.code == 2
    a_file = tmp_path / "file.md"
    a_file.write_text("x")
    assert main(["docs", "--check", "--out", str(a_file)]) == 2


def test_the_readme_taste_points_at_both_guides():
    taste = (DOCS / "README-taste.md").read_text(encoding="utf-8")
    assert "docs/guide.md" in taste and "docs/guide.ko.md" in taste
    assert Path(ROOT / "docs" / "guide.md").is_file()


def test_a_pasted_readme_taste_is_checked_and_refreshed(tmp_path, capsys):
    measured, out = fake_measured(), tmp_path / "docs"
    docs.generate(out, measured, pictures=False)
    stale = (out / docs.TASTE).read_text(encoding="utf-8").replace("loss.backward()", "loss.backward(  )")
    (tmp_path / "README.md").write_text(f"# Project\n\n{stale}\nMore text.\n", encoding="utf-8")
    assert docs.check(out, measured) == 1
    assert "README.md: the pasted guide taste differs" in capsys.readouterr().out
    docs.generate(out, measured, pictures=False)
    readme = (tmp_path / "README.md").read_text(encoding="utf-8")
    assert readme.startswith("# Project\n\n") and readme.endswith("\nMore text.\n") and "backward(  )" not in readme
    assert docs.check(out, measured) == 0
