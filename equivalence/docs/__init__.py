"""`equivalence docs`: the side-by-side PyTorch ⇄ JAX guide, generated from the tested code, and its drift check."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import TextIO

from equivalence.docs import render, text_en, text_ko
from equivalence.docs.measured import measure_all, same_line, save_pictures
from equivalence.docs.source import FRAMEWORKS, Piece, Reader, StageSource, function_source, read, stage_source

GUIDES = {"guide.md": ("en", text_en), "guide.ko.md": ("ko", text_ko)}  # file -> (language, its prose)
TASTE = "README-taste.md"  # the README's section, kept in sync wherever it is pasted between its markers
PROBLEMS = "netdata/problems.py"  # where every stage's main() gets its data


def sources(stages: tuple[str, ...], reader: Reader = read) -> tuple[dict[str, dict[str, StageSource]], dict[str, Piece]]:
    """Every stage file of both frameworks cut into blocks, and the data functions their main()s call."""
    srcs = {stage: {side: stage_source(side, stage, reader) for side in FRAMEWORKS} for stage in stages}
    problems = {}
    for name in dict.fromkeys(n for by_side in srcs.values() for s in by_side.values() for n in s.problems):
        try:
            problems[name] = function_source(PROBLEMS, name, reader)
        except LookupError:  # a constant such as problems.N, not a function
            pass
    return srcs, problems


def render_all(measured: dict, reader: Reader = read, stages: tuple[str, ...] | None = None) -> dict[str, str]:
    """{file name: Markdown} for both guides; pure given `measured`, so two machines write the same bytes."""
    from equivalence import tolerance
    from equivalence.stages import STAGES

    srcs, problems = sources(tuple(stages or STAGES), reader)
    out = {name: render.guide(text, lang, srcs, problems, measured, tolerance.TOLERANCES)
           for name, (lang, text) in GUIDES.items()}
    return out | {TASTE: render.taste(srcs)}


def readme_section(readme: Path) -> tuple[str, int, int] | None:
    """(README text, start, end) of the pasted taste between its markers; None when it has none."""
    if not readme.is_file():
        return None
    text = readme.read_text(encoding="utf-8")
    start, end = text.find(render.TASTE_START), text.find(render.TASTE_END)
    if start < 0 or end < start:
        return None
    return text, start, end + len(render.TASTE_END) + (text[end + len(render.TASTE_END):][:1] == "\n")


def first_difference(committed: str, fresh: str) -> tuple[int, str, str] | None:
    """(line number, committed line, generated line) of the first real difference, or None."""
    a, b = committed.splitlines(), fresh.splitlines()
    for i in range(max(len(a), len(b))):
        x = a[i] if i < len(a) else "<end of file>"
        y = b[i] if i < len(b) else "<end of file>"
        if i >= len(a) or i >= len(b) or not same_line(x, y):
            return i + 1, x, y
    return None


def check(out: Path, measured: dict | None = None, reader: Reader = read, stream: TextIO | None = None) -> int:
    """0 when the guides in `out` are what the code generates now; 1 (and where they differ) when not."""
    from equivalence.stages import STAGES

    stream = stream or sys.stdout
    measured = measured if measured is not None else measure_all(tuple(STAGES), keep_losses=False)
    drifted, files = [], render_all(measured, reader)
    for name, fresh in files.items():
        path = out / name
        if not path.is_file():
            drifted.append(f"{path}: missing")
            continue
        diff = first_difference(path.read_text(encoding="utf-8"), fresh)
        if diff:
            line, old, new = diff
            drifted.append(f"{path} differs from what the code generates, first at line {line}:\n"
                           f"  committed: {old}\n  generated: {new}")
    pasted = readme_section(out.parent / "README.md")
    if pasted:
        text, start, end = pasted
        diff = first_difference(text[start:end], files[TASTE])
        if diff:
            drifted.append(f"{out.parent / 'README.md'}: the pasted guide taste differs, first at its line {diff[0]}:\n"
                           f"  committed: {diff[1]}\n  generated: {diff[2]}")
    if drifted:
        print("\n".join(drifted), file=stream)
        print(f"the guides are out of date: run `equivalence docs{_out_flag(out)}` and commit what it writes", file=stream)
        return 1
    print(f"{', '.join(str(out / n) for n in files)}{' and README.md' if pasted else ''}: up to date with the code",
          file=stream)
    return 0


def _out_flag(out: Path) -> str:
    return "" if out == Path("docs") else f" --out {out}"


def generate(out: Path, measured: dict | None = None, reader: Reader = read, pictures: bool = True) -> list[Path]:
    """Write both guides (and, with `pictures`, img/<stage>-loss.png) into `out`; the paths written."""
    from equivalence.stages import STAGES
    from training.runfolder import atomic_write_bytes

    measured = measured if measured is not None else measure_all(tuple(STAGES), keep_losses=pictures)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    files = render_all(measured, reader)
    for name, text in files.items():
        atomic_write_bytes(out / name, text.encode("utf-8"))
        written.append(out / name)
    pasted = readme_section(out.parent / "README.md")
    if pasted:  # the README holds a copy of the taste: refresh it between its markers
        text, start, end = pasted
        atomic_write_bytes(out.parent / "README.md", (text[:start] + files[TASTE] + text[end:]).encode("utf-8"))
        written.append(out.parent / "README.md")
    if pictures:
        written += save_pictures(measured, out)
    return written


def run(out: str, check_only: bool) -> int:
    """The `equivalence docs` command: 0 written or up to date, 1 drift."""
    from netdata.errors import InputError

    folder = Path(out)
    if folder.exists() and not folder.is_dir():
        raise InputError(f"--out {out} is a file; pass a folder (default: docs)")
    if check_only:
        return check(folder)
    started = time.perf_counter()
    written = generate(folder)
    print(f"wrote {len(written)} files in {time.perf_counter() - started:.0f} s:")
    for path in written:
        print(f"  {path}")
    return 0
