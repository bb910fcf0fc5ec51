"""One guide as Markdown: per stage the idea, the lines that differ side by side, how to run it, exercises."""

from __future__ import annotations

from types import SimpleNamespace as Prose

from equivalence.lecture.report import bucket
from tools.docs import exercises
from tools.docs.measured import picture_name, power_of_ten
from tools.docs.per_stage import KEY, SHOWN_WITH, STAGE_PITFALLS
from tools.docs.runs import command
from tools.docs.source import Piece, StageSource, function_source

LINK_ROOT = ".."  # the guides live in docs/, one level below the checkout's root
SIDES = ("torch", "jax")


def anchor(stage: str) -> str:
    return f"stage-{stage}"


def link(piece: Piece, root: str = LINK_ROOT) -> str:
    lines = f"L{piece.first}" if piece.first == piece.last else f"L{piece.first}-L{piece.last}"
    return f"[`{piece.name}`]({root}/{piece.path}#{lines})"


def value(v) -> str:
    """A measured number as the docs print it: 4 significant digits, or 3 in scientific notation."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return str(v)
    if isinstance(v, int) or float(v).is_integer():
        return str(int(v))
    return f"{v:.4g}" if 1e-3 <= abs(v) < 1e5 else f"{v:.2e}"


def results(measured: dict, names: dict[str, str] | None = None) -> str:
    names = names or {}
    return "\n".join(f"{names.get(k, k)}: {value(v)}" for k, v in measured.items())


def key_pieces(stage: str, srcs: dict[str, StageSource]) -> list[dict[str, Piece | None]]:
    """The functions that carry the stage's idea, one row per name: {side: its code, or None}."""
    rows = []
    for name in KEY.get(stage, ("build", "train_step")):
        found = {s: next((p for b in srcs[s].blocks.values() for p in b if p.name == name), None) for s in SIDES}
        if any(found.values()):
            rows.append(found)
    return rows


def differing(code: str, other: str, same: str) -> str:
    """`code` whole, every line that runs kept: only comment lines that `other` has too are folded into one
    comment, so no statement is cut away (no name from nowhere, no orphan line, no cut inside a call)."""
    theirs = {line.strip() for line in other.splitlines()}
    out: list[str] = []
    for i, line in enumerate(code.splitlines()):
        shared = i > 0 and line.lstrip().startswith("#") and line.strip() in theirs
        if not shared:
            out.append(line)
        elif not (out and out[-1].endswith(same)):
            out.append(line[:len(line) - len(line.lstrip())] + same)
    return "\n".join(out)


def side_by_side(text: Prose, srcs: dict[str, StageSource], rows: list[dict]) -> list[str]:
    head = "".join(f"<th>{text.LABELS[s]} · <code>{srcs[s].path}</code></th>" for s in SIDES)
    out = ["<table>", f"<tr>{head}</tr>"]
    for row in rows:
        cells = []
        for s, o in zip(SIDES, reversed(SIDES)):
            piece, other = row[s], row[o]
            code = differing(piece.code, other.code, text.LABELS["same"]) if piece and other else piece and piece.code
            cells += ["<tr><td>" if not cells else "</td><td>", "",
                      *(["```python", code, "```"] if piece else ["—"]), ""]
        out += [*cells, "</td></tr>"]
    return out + ["</table>", ""]


def _calls(text: Prose, stage: str) -> list[str]:
    """The stage's table of new calls, as its template writes it."""
    table = text.CALLS.get(stage)
    return [table, ""] if table else []


def _rest(text: Prose, srcs: dict[str, StageSource], shown: set[str]) -> list[str]:
    out = [f"<details><summary>{text.LABELS['rest']}</summary>", ""]
    for s in SIDES:
        pieces = [p for name, b in srcs[s].blocks.items() if name not in ("imports", "data") for p in b
                  if p.name not in shown]
        out.append(f"- [`{srcs[s].path}`]({LINK_ROOT}/{srcs[s].path}): " + ", ".join(link(p) for p in pieces))
    return out + ["", "</details>", ""]


def _run(text: Prose, stage: str, runs: dict) -> list[str]:
    out = [f"### {text.LABELS['run']}", "", "```bash", *(command(s, stage) for s in SIDES), "```", ""]
    got = runs.get(stage)
    if not got:
        return out + [text.LABELS["not_run"], ""]
    if got["torch"] == got["jax"]:
        return out + [text.LABELS["both_print"], "", "```", got["torch"].rstrip("\n"), "```", ""]
    for s in SIDES:
        out += [f"{text.LABELS[s]}:", "", "```", got[s].rstrip("\n"), "```", ""]
    return out


def task_line(number: int, title: str, task: str) -> str:
    return f"{number}. **{title}{'' if title.endswith(('?', '!')) else '.'}** {task}"


def _exercises(text: Prose, stage: str, lang: str, answers: dict) -> list[str]:
    found = exercises.of_stage(stage)
    if not found:
        return []
    out = [f'<a id="exercises-{stage}"></a>', "", f"### {text.LABELS['exercises']}", ""]
    for i, ex in enumerate(found, 1):
        title, task = ex.words(lang)
        out += [task_line(i, title, task), "", f"   <details><summary>{text.LABELS['solution']}</summary>", ""]
        pieces = exercises.solution_code(ex)
        out += ["   " + text.LABELS["solution_in"].format(path=exercises.solution_path(ex),
                                                         links=", ".join(link(p) for p in pieces)), ""]
        block = ["```python", "\n\n".join(p.code for p in pieces), "```", ""]
        if ex.run in answers:
            block += [text.LABELS["prints"].format(call=f"{ex.run}()"), "", "```",
                      results(answers[ex.run], getattr(text, "RESULT_NAMES", {})), "```", ""]
        out += [("   " + line if line else "") for line in "\n".join(block).splitlines()] + ["", "   </details>", ""]
    return out


def _learnable(text: Prose, measured: dict, lang: str) -> list[str]:
    """Stage 1's box (the lecture's data is random) and the same program on data with something to learn."""
    from tools.docs import learnable
    from tools.docs.idioms import in_language

    got = measured.get("learnable")
    if not got:
        return []
    box = ["> " + line if line else ">" for line in text.RANDOM_BOX.splitlines()]
    return [*box, "", f"### {text.LABELS['learnable']}", "", text.LEARNABLE, "", "```python",
            in_language(learnable.CODE, lang).rstrip("\n"), "```", "", text.LABELS["prints_plain"], "", "```", got["output"].rstrip("\n"),
            "```", "", f"![{text.LABELS['learnable']}](img/{learnable.PICTURE})", ""]


def _idiom(text: Prose, stage: str, first: bool, lang: str) -> list[str]:
    """The stage's program as a learner would write it in each framework (tools/docs/idioms.py), side by side;
    the first stage says where the snippets' prelude is."""
    from tools.docs.idioms import IDIOMS, in_language

    if stage not in IDIOMS:
        return []
    torch_code, jax_code = (in_language(code, lang) for code in IDIOMS[stage])
    head = "".join(f"<th>{text.LABELS[s]}</th>" for s in SIDES)
    return [f"### {text.LABELS['idiom']}", "", *([text.LABELS["idiom_intro"], ""] if first else []), "<table>", f"<tr>{head}</tr>",
            "<tr><td>", "", "```python", torch_code.rstrip("\n"), "```", "", "</td><td>", "", "```python",
            jax_code.rstrip("\n"), "```", "", "</td></tr>", "</table>", ""]


def _picture(text: Prose, stage: str, measured: dict) -> list[str]:
    """The check's loss curves, with what they ran: their start and lr are not the program's of "Run it"."""
    from netdata.stages import STAGES

    from netdata.problems import LECTURE_LR

    caption = [text.PICTURE.format(steps=measured["steps"], dtype="float32")]
    info = STAGES.get(stage)
    if info:  # equivalence.lecture.stages: the linear stages' check starts from randn, the classifiers' from torch's init
        check_init = "torch" if info.classifier else "randn"
        if check_init != info.init:
            caption.append(text.PICTURE_INIT.format(check_init=check_init, init=info.init))
        lr = info.lr if info.classifier else LECTURE_LR  # the programs' main(): the lecture's lr but the classifiers
        if lr != LECTURE_LR:
            caption.append(text.PICTURE_LR.format(lr=f"{lr:g}"))
    return [f"![{text.LABELS['picture_alt'].format(stage=stage)}](img/{picture_name(stage)})", "", " ".join(caption), ""]


def _stage(text, lang, number, stage, srcs, measured) -> list[str]:
    subtitle, prose = text.STAGES.get(stage, ("", text.LABELS["no_prose"]))
    out = [f'<a id="{anchor(stage)}"></a>', "", f"## {number} · `{stage}`" + (f": {subtitle}" if subtitle else ""), "",
           prose, ""]
    out += _idiom(text, stage, number == 1, lang)
    if number == 1:
        out += _learnable(text, measured, lang)
    out += [f"### {text.LABELS['differs']}", ""]
    rows = key_pieces(stage, srcs)
    out += side_by_side(text, srcs, rows)
    extra = [function_source(path, name) for path, name in SHOWN_WITH.get(stage, ())]
    if extra:
        out += [text.LABELS["also"].format(links=", ".join(link(p) for p in extra)), "",
                "```python", "\n\n".join(p.code for p in extra), "```", ""]
    out += _calls(text, stage)
    out += _rest(text, srcs, {p.name for row in rows for p in row.values() if p})
    out += _run(text, stage, measured.get("runs", {}))
    if stage in measured.get("results", {}).get("float32", {}):
        out += _picture(text, stage, measured)
    keys = [k for k in STAGE_PITFALLS.get(stage, []) if k in text.PITFALLS]
    if keys:
        page = "pitfalls.md" if lang == "en" else f"pitfalls.{lang}.md"
        out += [text.LABELS["pitfalls_here"] + " " + ", ".join(f"[{text.PITFALLS[k][0]}]({page}#{k})" for k in keys)
                + ".", ""]
    out += _exercises(text, stage, lang, measured.get("exercises", {}))
    nxt = text.NEXT.get(stage)
    return out + ([f"### {text.LABELS['next']}", "", nxt, ""] if nxt else [])


def _summary(text: Prose, measured: dict, stages: list[str]) -> list[str]:
    """One row per stage and dtype: the worst of the three pairs for each quantity, then the tolerance."""
    results_ = measured.get("results", {})
    quantities = list(dict.fromkeys(r["quantity"] for by in results_.values() for rows in by.values() for r in rows))
    if not quantities:
        return []
    out = [f"| {text.LABELS['stage']} | {text.LABELS['dtype']} | "
           + " | ".join(text.QUANTITIES.get(q, q) for q in quantities) + f" | {text.LABELS['tolerance']} |",
           "|" + "---|" * (len(quantities) + 3)]
    for stage in stages:
        for dtype, by_stage in results_.items():
            rows = by_stage.get(stage)
            if not rows:
                continue
            cells = []
            for q in quantities:
                worst = max((r for r in rows if r["quantity"] == q), key=lambda r: (not r["passed"], r["rel_err"]))
                cells.append(f"{bucket(worst['rel_err'])} " + text.LABELS["pass" if worst["passed"] else "fail"])
            out.append(f"| `{stage}` | {dtype} | " + " | ".join(cells) + f" | {power_of_ten(max(r['tol'] for r in rows))} |")
    return out + [""]


def guide(text: Prose, lang: str, sources: dict[str, dict[str, StageSource]], measured: dict,
          tolerances: dict) -> str:
    """The whole guide in one language; `sources[stage][side]`: the code shown."""
    stages = list(sources)
    suffix = "" if lang == "en" else f".{lang}"
    out = [f"# {text.TITLE}", "", f"> {text.GENERATED}", "", text.INTRO.format(suffix=suffix), ""]
    out += [f"## {text.LABELS['contents']}", ""]
    for i, stage in enumerate(stages, 1):
        subtitle = text.STAGES.get(stage, ("",))[0]
        out.append(f"{i}. [`{stage}`" + (f": {subtitle}" if subtitle else "") + f"](#{anchor(stage)})"
                   + f" · [{text.LABELS['notebook']}](notebooks/{stage}{suffix}.ipynb)")
    out.append(f"{len(stages) + 1}. [{text.LABELS['appendix']}: {text.LABELS['measure_how']}](#measuring)")
    out += ["", *text.CHAPTERS.format(suffix=suffix).splitlines(), ""]
    if getattr(text, "GLOSSARY", None):
        out += [text.GLOSSARY, ""]
    for i, stage in enumerate(stages, 1):
        out += _stage(text, lang, i, stage, sources[stage], measured)
    # Measurement last: teaching first, how the two frameworks are proven equal in an appendix.
    out += ['<a id="measuring"></a>', "", f"## {text.LABELS['appendix']}: {text.LABELS['measure_how']}", "",
            text.MEASURE.format(steps=measured.get("steps", "?")), "",
            f"| {text.LABELS['dtype']} | {text.LABELS['tolerance']} | {text.LABELS['why']} |", "|---|---|---|"]
    out += [f"| {mode} | {power_of_ten(t.rel)} | {text.TOLERANCE_WHY.get(mode, t.why)} |" for mode, t in tolerances.items()]
    out += ["", *_summary(text, measured, stages)]
    while out and out[-1] == "":
        out.pop()
    return "\n".join(out) + "\n"
