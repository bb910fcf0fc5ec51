"""`python -m tools.docs`: the committed docs match the code, drift is caught, every stage is taught in both languages."""

import re

import numpy as np
import pytest

from equivalence.lecture.check import PAIRS, QUANTITIES
from equivalence.lecture.report import bucket
from equivalence.lecture.stages import STAGES
from tools import docs
from tools.docs.__main__ import main
from tools.docs.measured import from_json, same_line, same_output_line, to_json
from tools.docs.per_stage import STAGE_PITFALLS
from tools.docs.render import anchor, key_pieces
from tools.docs.runs import command
from tools.docs.source import FRAMEWORKS, ROOT, read, stage_path, stage_source

DOCS = ROOT / "docs"
(text_en, pages_en), (text_ko, pages_ko) = docs.LANGS["en"], docs.LANGS["ko"]  # the templates' prose
KOREAN_TERMS = ("순전파", "역전파", "손실 함수", "경사 하강법", "레이아웃", "배치", "트레이싱", "기울기")
LITERAL = ("곁들인", "잎마다", "요란하게", "가중치 배치", "추적")  # literal translations, and the old double meanings


def fake_measured(err: float = 3e-8, passed: bool = True) -> dict:
    """Check results in the shape measure_all returns, without running 5000 steps."""
    def rows(stage, dtype):
        tol = 1e-5 if dtype == "float32" else 1e-12
        scale = 1.0 if dtype == "float32" else 1e-8
        return [{"stage": stage, "quantity": q, "pair": f"{a}-{b}", "rel_err": err * scale, "max_abs": err,
                 "tol": tol, "passed": passed, "first_bad_step": None} for q in QUANTITIES for a, b in PAIRS]

    return {"results": {d: {s: rows(s, d) for s in STAGES} for d in ("float32", "float64")},
            "losses": {}, "steps": 5000, "runs": {s: {"torch": "loss 1.0 -> 0.5\n", "jax": "loss 1.0 -> 0.5\n"}
                                                   for s in STAGES}}


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
    (float64 <= 1e-12, float32 <= 1e-5), then `python -m tools.docs --check` against those same numbers, the
    programs' output, the pitfalls' costs and the notebooks run afresh."""
    from equivalence.lecture.stages import STAGES

    measured = docs.measure(tuple(STAGES), keep_losses=False)
    for dtype, bound in (("float64", 1e-12), ("float32", 1e-5)):
        for stage in STAGES:
            rows = measured["results"][dtype][stage]
            assert len(rows) == 12
            bad = [r for r in rows if not (r["passed"] and r["rel_err"] <= bound)]
            assert not bad, (dtype, stage, bad)
    assert docs.check(DOCS, measured=measured) == 0, capsys.readouterr().out + "\nrun `python -m tools.docs` and commit docs/"


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """The docs written from fake numbers, notebooks unexecuted: what the drift tests edit and check."""
    out = tmp_path_factory.mktemp("docs")
    docs.generate(out, fake_measured(), pictures=False, execute=False)
    return out


@pytest.mark.parametrize("side, stage, old, new", [
    ("torch", "nn", "param -= trainer.lr * param.grad", "param -= trainer.lr * param.grad.clone()"),
    ("jax", "optim", "trainer.optimizer.update(trainer.model, grads)", "trainer.optimizer.update(trainer.model, grads)  # edited"),
])
def test_an_edited_stage_file_fails_the_check_and_says_where(generated, capsys, side, stage, old, new):
    measured = fake_measured()
    assert docs.check(generated, measured, execute=False) == 0
    capsys.readouterr()
    assert docs.check(generated, measured, reader=edit(stage_path(side, stage), old, new), execute=False) == 1
    out = capsys.readouterr().out
    assert "guide.md differs" in out and "guide.ko.md differs" in out
    assert f"{stage}.ipynb" not in out  # the notebooks write their code inline (tools/docs/lessons/), not the stage's
    assert new in out  # the first differing line, as generated
    assert "run `python -m tools.docs" in out


def test_a_missing_guide_is_drift(tmp_path, capsys):
    assert docs.check(tmp_path, fake_measured(), execute=False) == 1
    assert "missing" in capsys.readouterr().out


def test_rounding_noise_is_not_drift_but_a_changed_result_is(generated):
    assert docs.check(generated, fake_measured(3e-8), execute=False) == 0
    assert docs.check(generated, fake_measured(2e-7), execute=False) == 0  # one power of ten: another CPU's rounding
    assert docs.check(generated, fake_measured(4e-6), execute=False) == 1  # two powers of ten: the code changed
    assert docs.check(generated, fake_measured(3e-8, passed=False), execute=False) == 1


@pytest.mark.parametrize("committed, fresh, same", [
    ("loss 268.4543 -> 179.6173 after 5000 steps", "loss 268.4543 -> 179.6174 after 5000 steps", True),  # last digit
    ("loss 268.4543 -> 179.6173 after 5000 steps", "loss 268.4543 -> 179.7173 after 5000 steps", False),
    ("loss 268.4543 -> 179.6173 after 5000 steps", "loss 268.4543 -> 179.6173 after 500 steps", False),
    ("returned after 0.105 ms, finished after 107.316 ms", "returned after 0.2 ms, finished after 12.1 ms", True),
    ("differ by 3e-07 of what moved", "differ by 8e-08 of what moved", True),  # both rounding errors
    ("test accuracy 0.844", "test accuracy 0.850", False),
])
def test_program_output_is_compared_up_to_rounding_and_clocks(committed, fresh, same):
    assert same_output_line(committed, fresh) is same


def test_errors_are_shown_as_powers_of_ten():
    assert [bucket(e) for e in (0.0, 3.2e-8, 1e-7, 9.99e-16, 1.0)] == ["0", "< 1e-7", "< 1e-6", "< 1e-15", "< 1e1"]
    row = "| float64 | update | < 1e-15 ✓ | 0 ✓ | < 1e-14 ✓ | 1e-12 |"
    assert same_line(row, row.replace("< 1e-15", "< 1e-14"))
    assert same_line(row, row.replace("| 0 ✓", "| < 1e-15 ✓"))  # both 100x inside the tolerance
    assert not same_line(row, row.replace("< 1e-15", "< 1e-13"))
    assert not same_line("| a | b |", "| a | c |")


@pytest.mark.parametrize("name", docs.GUIDES)
@pytest.mark.parametrize("stage", STAGES)
def test_each_guide_section_shows_the_differing_code_links_the_rest_and_shows_both_programs_output(name, stage):
    text = (DOCS / name).read_text(encoding="utf-8")
    start = text.index(f'<a id="{anchor(stage)}"></a>')
    following = [text.find(f'<a id="{anchor(s)}"></a>') for s in STAGES]
    section = text[start:min([i for i in following if i > start] or [len(text)])]
    sources = {side: stage_source(side, stage) for side in FRAMEWORKS}
    for row in key_pieces(stage, sources):
        for piece in filter(None, row.values()):
            assert piece.code.splitlines()[-1 if piece.code.startswith("@") else 0] in section or \
                piece.code.splitlines()[0] in section, f"{name}: {piece.name} of {piece.path} is not shown"
    for side, src in sources.items():
        for defined in src.names:
            assert f"[`{defined}`](../{src.path}#L" in section or re.search(rf"^\s*(def|class) {defined}\b", section, re.M), \
                f"{name}: {src.path}'s {defined} is neither shown nor linked"
        assert command(side, stage) in section
    run = section[section.index(command("jax", stage)):]
    assert re.search(r"```\n(loss|test|4\.)", run), f"{name}: {stage}'s programs' output is not shown"


def test_the_guides_are_mostly_prose_not_pasted_code():
    for name in docs.GUIDES:
        lines = (DOCS / name).read_text(encoding="utf-8").splitlines()
        inside, code = False, 0
        for line in lines:
            if line.strip().startswith("```"):
                inside = not inside
            code += inside
        # 1800: each stage opens with its idiomatic code, and stage 1 also runs on a learnable problem
        assert len(lines) < 1800 and code < 0.6 * len(lines), (name, len(lines), code)


def _prose(markdown: str) -> str:
    """The Korean text a reader reads as sentences: no code blocks, code spans, link targets or tags."""
    markdown = re.sub(r"```.*?```", "", markdown, flags=re.S)
    markdown = re.sub(r"`[^`]*`", "", markdown)
    markdown = re.sub(r"\]\([^)]*\)", "]", markdown)
    return re.sub(r"<[^>]+>", "", markdown)


@pytest.mark.parametrize("name", ["guide.ko.md", "pitfalls.ko.md", "jax-for-torch-users.ko.md"])
def test_the_korean_docs_are_korean_prose_in_one_term_per_concept(name):
    text = (DOCS / name).read_text(encoding="utf-8")
    for literal in LITERAL:
        assert literal not in text, f"{name}: {literal!r}"
    english = re.findall(r"[A-Za-z][a-z]+(?:[ ,]+[A-Za-z][a-z]+){3,}", _prose(text))
    assert not english, f"{name}: English prose left: {english[:5]}"


def test_the_korean_guide_has_its_glossary_and_the_lectures_terms():
    text = (DOCS / "guide.ko.md").read_text(encoding="utf-8")
    assert "## 용어" in text
    for term in KOREAN_TERMS:
        assert term in text, term
    for english in ("forward propagation", "gradient", "loss function", "layout", "batch", "trace"):
        assert english in text_ko.GLOSSARY
    hangul = sum("\uac00" <= c <= "\ud7a3" for c in text)
    assert hangul > 4000, f"only {hangul} Hangul syllables: a stub, not a guide"


def test_both_languages_cover_every_stage_pitfall_and_label():
    for text, pages in ((text_en, pages_en), (text_ko, pages_ko)):
        assert set(STAGES) <= set(text.STAGES) and set(STAGES) <= set(text.NEXT)
        assert {k for keys in STAGE_PITFALLS.values() for k in keys} <= set(pages.PITFALLS)
        assert text_en.LABELS.keys() == text.LABELS.keys() and text_en.NOTEBOOK.keys() == text.NOTEBOOK.keys()
        assert pages_en.PITFALLS.keys() == pages.PITFALLS.keys() and pages_en.BASICS.keys() == pages.BASICS.keys()
        assert set(STAGES) <= set(text.CALLS)


def test_every_measured_name_on_the_pitfalls_page_has_its_korean_name():
    english = (DOCS / "pitfalls.md").read_text(encoding="utf-8")
    blocks = re.findall(r"Measured:\n\n```\n(.*?)```", english, flags=re.S)
    lines = [line for block in blocks for line in block.splitlines()]
    unnamed = [line for line in lines if not any(line.startswith(f"{name}: ") for name in pages_ko.COST_NAMES)]
    assert lines and not unnamed, unnamed


def test_the_chapters_show_what_their_examples_printed():
    for name in ("jax-for-torch-users.md", "jax-for-torch-users.ko.md"):
        text = (DOCS / name).read_text(encoding="utf-8")
        assert "print: tracing with" in text and "debug.print: running with 2.0" in text  # traced once, ran twice
        assert "TracerIntegerConversionError" in text
    pitfalls = (DOCS / "pitfalls.md").read_text(encoding="utf-8")
    assert "3.162" in pitfalls  # Adam's largest step, lr·(1−β₁)/√(1−β₂), measured


def test_docs_command_rejects_bad_arguments(tmp_path, capsys):
    for bad_args in (["--no-such-flag"], ["--check", "--measure"]):
        with pytest.raises(SystemExit) as bad:
            main(bad_args)
        assert bad.value.code == 2
    a_file = tmp_path / "file.md"
    a_file.write_text("x")
    assert main(["--check", "--out", str(a_file)]) == 2
    capsys.readouterr()
    assert main(["--out", str(tmp_path)]) == 2  # no measurements to write from
    assert f"python -m tools.docs --measure --out {tmp_path}" in capsys.readouterr().err


def test_the_measurements_render_the_same_pages_after_a_trip_through_json():
    measured = fake_measured() | {"costs": {"adam_step": {"step / lr": np.float32(3.162), "steps": np.int64(2)}},
                                  "exercises": {"bias": {"loss": np.float64(1.25), "equal": np.bool_(True)}}}
    assert docs.render_all(from_json(to_json(measured))) == docs.render_all(measured)


def test_the_committed_pages_are_what_the_committed_measurements_render(capsys):
    """No measuring: an edited template or stage file fails here until `python -m tools.docs` writes the pages
    again from docs/measured/guide.json (the slow test measures afresh)."""
    assert docs.check(DOCS, measured=docs.recorded(DOCS), execute=False) == 0, capsys.readouterr().out


@pytest.mark.parametrize("name", ["jax-for-torch-users.md", "jax-for-torch-users.ko.md"])
def test_every_snippet_of_the_chapter_runs_and_prints_what_the_page_shows(name):
    """The chapter's code blocks, taken from the committed page (not from tools/docs/basics.py), run as a reader
    would paste them: each prints what the page shows under it, up to rounding and clocks."""
    from tools.docs import basics

    text = (DOCS / name).read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```\n\n[^\n]*\n\n```\n(.*?)```", text, flags=re.S)
    assert len(blocks) == len(basics.EXAMPLES), f"{name}: {len(blocks)} snippets with output"
    keys = {"pytree", "grad", "scan", "vmap"}
    assert keys <= {key for key in re.findall(r'<a id="(\w+)"></a>', text)}
    for code, shown in blocks:
        printed = basics.run(code)
        for got, want in zip(printed.splitlines(), shown.splitlines(), strict=True):
            assert same_output_line(want, got), (code.splitlines()[-1], want, got)


KOREAN_PAGES = ("guide.ko.md", "pitfalls.ko.md", "jax-for-torch-users.ko.md", "lecture.ko.md", "troubleshooting.ko.md",
                "../README.ko.md")


@pytest.mark.parametrize("name", KOREAN_PAGES)
def test_the_korean_pages_keep_the_glossarys_words(name):
    """docs/glossary.md: 단계 is only the lecture's four steps, 스테이지 the project's; chain, trainer and kernel
    are Korean words in prose (code keeps its names)."""
    prose = _prose((DOCS / name).read_text(encoding="utf-8"))
    prose = re.sub(r"^\|.*\|$", "", prose, flags=re.M) if name == "guide.ko.md" else prose  # the glossary table
    for m in re.finditer("단계", prose):
        before = prose[max(0, m.start() - 8):m.start()]
        assert re.search(r"(\d|테스트\"?|강의의 \**) ?$", before), f"{name}: …{before}단계"
    assert not re.search(r"\b(chain|trainer|kernel)\b", prose), name


def test_the_glossary_has_one_word_each_for_stage_and_the_lectures_steps():
    glossary = (DOCS / "glossary.md").read_text(encoding="utf-8")
    for english, korean in (("stage (this project)", "스테이지"), ("step (the lecture's four)", "단계"),
                            ("chain", "연쇄"), ("trainer", "훈련 상태"), ("kernel (Flax's", "가중치 행렬")):
        assert re.search(rf"^\| {re.escape(english)}[^|]*\| {korean} \|", glossary, re.M), english


def test_the_batchnorm_variance_pitfall_shows_its_measured_cost():
    """torch's running variance takes n / (n - 1) of Flax's batch share: 1 / (n - 1) more, n values per channel."""
    for name in ("pitfalls.md", "pitfalls.ko.md"):
        text = (DOCS / name).read_text(encoding="utf-8")
        assert '<a id="bn_var"></a>' in text
        assert f": {1 / (64 * 8 * 8 - 1):.2e}\n" in text and f": {1 / (8 - 1):.4g}\n" in text
