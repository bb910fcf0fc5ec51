"""`python -m tools.docs`: the guide, its chapters and notebooks, generated from the tested code and its real output."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import TextIO

from tools.docs import notebooks, pages, prose, render
from tools.docs.measured import from_json, same_output_line, save_pictures, to_json
from tools.docs.source import FRAMEWORKS, ROOT, Reader, StageSource, read, stage_source

LANGS = {lang: (prose.guide(lang), prose.pages(lang)) for lang in prose.LANGS}  # -> (guide prose, chapters' prose)
GUIDES = {"guide.md": "en", "guide.ko.md": "ko"}
NOTEBOOKS = "notebooks"  # docs/notebooks/<stage>.ipynb and <stage>.ko.ipynb
RECORD = "measured/guide.json"  # what the pages print that the code computed: the check, outputs, costs


def sources(stages: tuple[str, ...], reader: Reader = read) -> dict[str, dict[str, StageSource]]:
    return {stage: {side: stage_source(side, stage, reader) for side in FRAMEWORKS} for stage in stages}


def _stages(stages=None) -> tuple[str, ...]:
    from equivalence.lecture.stages import STAGES

    return tuple(stages or STAGES)


def measure(stages: tuple[str, ...], keep_losses: bool = True) -> dict:
    """Everything the docs print that the code computes: the check, the programs' output, costs, answers."""
    from tools.docs import basics, costs, exercises, learnable, runs
    from tools.docs.measured import measure_all

    return measure_all(stages, keep_losses=keep_losses) | {
        "runs": runs.run_all(stages), "costs": costs.measure_costs(), "basics": basics.run_all(),
        "exercises": exercises.run_all(stages), "learnable": learnable.run()}


def render_all(measured: dict, reader: Reader = read, stages: tuple[str, ...] | None = None) -> dict[str, str]:
    """{file name: Markdown}: both guides, both chapters in both languages, the glossary; pure given `measured`."""
    from equivalence import tolerance

    stages = _stages(stages)
    srcs = sources(stages, reader)
    out = {name: render.guide(LANGS[lang][0], lang, srcs, measured, tolerance.TOLERANCES) for name, lang in GUIDES.items()}
    for lang, (text, chapter) in LANGS.items():
        suffix = "" if lang == "en" else f".{lang}"
        out[f"pitfalls{suffix}.md"] = pages.pitfalls(text, chapter, lang, measured.get("costs", {}), list(stages))
        out[f"jax-for-torch-users{suffix}.md"] = pages.basics(chapter, measured.get("basics", {}), lang)
    out["glossary.md"] = pages.glossary(LANGS["ko"][0].GLOSSARY, LANGS["en"][1], LANGS["ko"][1])
    return out


def build_notebooks(measured: dict, reader: Reader = read, stages: tuple[str, ...] | None = None) -> dict[str, object]:
    """{notebooks/<name>: notebook without outputs}, one per stage and language (tools/docs/lessons/<stage>.py)."""
    return {f"{NOTEBOOKS}/{notebooks.notebook_name(stage, lang)}": notebooks.build(stage, lang, number)
            for number, stage in enumerate(_stages(stages), 1) for lang in LANGS}


def first_difference(committed, fresh) -> tuple[int, str, str] | None:
    """(line number, committed line, generated line) of the first real difference, or None."""
    a = committed.splitlines() if isinstance(committed, str) else committed
    b = fresh.splitlines() if isinstance(fresh, str) else fresh
    for i in range(max(len(a), len(b))):
        x = a[i] if i < len(a) else "<end of file>"
        y = b[i] if i < len(b) else "<end of file>"
        if i >= len(a) or i >= len(b) or not same_output_line(x, y):
            return i + 1, x, y
    return None


def _drift(path: Path, committed, fresh, what: str = "") -> str | None:
    diff = first_difference(committed, fresh)
    if not diff:
        return None
    line, old, new = diff
    return f"{path}{what} differs from what the code generates, first at line {line}:\n  committed: {old}\n  generated: {new}"


def check(out: Path, measured: dict | None = None, reader: Reader = read, stream: TextIO | None = None,
          execute: bool = True) -> int:
    """0 when every file in `out` is what the code generates now; 1 (and where they differ) when not.
    Notebooks: their cells always; with `execute`, also their outputs against a fresh run."""
    import nbformat

    stream = stream or sys.stdout
    measured = measured if measured is not None else measure(_stages(), keep_losses=False)
    drifted, files = [], render_all(measured, reader)
    for name, fresh in files.items():
        path = out / name
        problem = _drift(path, path.read_text(encoding="utf-8"), fresh) if path.is_file() else f"{path}: missing"
        drifted += [problem] if problem else []
    fresh_nbs = build_notebooks(measured, reader)
    committed = {name: nbformat.read(out / name, as_version=4) for name in fresh_nbs if (out / name).is_file()}
    drifted += [f"{out / name}: missing" for name in fresh_nbs if name not in committed]
    for name, nb in fresh_nbs.items():
        if name in committed:
            problem = _drift(out / name, notebooks.sources_of(committed[name]), notebooks.sources_of(nb), " (its cells)")
            drifted += [problem] if problem else []
    if execute and committed:
        names = list(committed)
        for name, ran in zip(names, notebooks.execute([fresh_nbs[n] for n in names], ROOT)):
            problem = _drift(out / name, notebooks.text_of(committed[name]), notebooks.text_of(ran), " (its outputs)")
            drifted += [problem] if problem else []
    if drifted:
        print("\n".join(drifted), file=stream)
        print(f"the docs are out of date: run `python -m tools.docs{_out_flag(out)}` (with --measure when the code's "
              "numbers changed) and commit what it writes", file=stream)
        return 1
    print(f"{len(files) + len(fresh_nbs)} files in {out}: up to date with the code", file=stream)
    return 0


def _out_flag(out: Path) -> str:
    return "" if out == Path("docs") else f" --out {out}"


def generate(out: Path, measured: dict | None = None, reader: Reader = read, pictures: bool = True,
             execute: bool = True, keep_outputs: bool = False) -> list[Path]:
    """Write every docs file into `out` (and, with `pictures`, img/<stage>-loss.png); the paths written.
    With `execute`, the notebooks are run (one shared kernel) and stored with their outputs; with `keep_outputs`,
    a notebook whose code cells are those of the one in `out` keeps its outputs and is not run."""
    import nbformat

    from training.runfolder import atomic_write_bytes

    measured = measured if measured is not None else measure(_stages(), keep_losses=pictures)
    (out / NOTEBOOKS).mkdir(parents=True, exist_ok=True)
    written = []
    files = render_all(measured, reader)
    for name, text in files.items():
        atomic_write_bytes(out / name, text.encode("utf-8"))
        written.append(out / name)
    nbs = build_notebooks(measured, reader)
    known = [nbformat.read(out / name, as_version=4) for name in nbs if keep_outputs and (out / name).is_file()]
    ran = notebooks.execute(list(nbs.values()), ROOT, known) if execute else list(nbs.values())
    for name, nb in zip(nbs, ran):
        atomic_write_bytes(out / name, notebooks.stable_json(nb).encode("utf-8"))
        written.append(out / name)
    if pictures:
        from tools.docs import learnable

        written += save_pictures(measured, out)
        written += [learnable.save_picture(measured["learnable"], out)] if measured.get("learnable") else []
    return written


def recorded(out: Path) -> dict:
    """The measurements the committed pages were written from (`python -m tools.docs --measure` stores them)."""
    from netdata.errors import InputError

    if not (out / RECORD).is_file():
        raise InputError(f"{out / RECORD} is missing: write it with `python -m tools.docs --measure{_out_flag(out)}`")
    return from_json((out / RECORD).read_text(encoding="utf-8"))


def run(out: str, check_only: bool, fresh: bool = False) -> int:
    """The `python -m tools.docs` command: 0 written or up to date, 1 drift. The pages are written from
    docs/measured/guide.json; with `fresh`, from a new measurement, which is stored there first."""
    from netdata.errors import InputError
    from training.runfolder import atomic_write_bytes

    folder = Path(out)
    if folder.exists() and not folder.is_dir():
        raise InputError(f"--out {out} is a file; pass a folder (default: docs)")
    if check_only:
        return check(folder)
    started = time.perf_counter()
    measured = measure(_stages()) if fresh else recorded(folder)
    if fresh:
        (folder / RECORD).parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(folder / RECORD, to_json(measured).encode("utf-8"))
    written = generate(folder, measured, pictures=fresh, keep_outputs=not fresh) + ([folder / RECORD] if fresh else [])
    print(f"wrote {len(written)} files in {time.perf_counter() - started:.0f} s:")
    for path in written:
        print(f"  {path}")
    return 0
