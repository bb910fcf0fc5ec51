"""One guide as Markdown: prose of one language, the stages' real code block by block, measured errors as powers of ten."""

from __future__ import annotations

from types import ModuleType

from equivalence.docs.calls import CALLS, KO_CELLS, STAGE_PITFALLS
from equivalence.docs.measured import bucket, picture_name, power_of_ten
from equivalence.docs.source import BLOCKS, Piece, StageSource

LINK_ROOT = ".."  # the guides live in docs/, one level below the checkout's root
SIDES = ("torch", "jax")


def anchor(stage: str) -> str:
    return f"stage-{stage}"


def _link(piece: Piece) -> str:
    lines = f"L{piece.first}" if piece.first == piece.last else f"L{piece.first}-L{piece.last}"
    return f"[`{piece.name}`]({LINK_ROOT}/{piece.path}#{lines})"


def _lines(pieces: list[Piece]) -> str:
    """Statements picked out of one function: its name once, then a link per line range."""
    ranges = [f"[{p.first}]({LINK_ROOT}/{p.path}#L{p.first})" if p.first == p.last
              else f"[{p.first}-{p.last}]({LINK_ROOT}/{p.path}#L{p.first}-L{p.last})" for p in pieces]
    return f"`{pieces[0].name}` ({', '.join(ranges)})"


def _code(pieces: list[Piece], joiner: str = "\n\n") -> list[str]:
    return ["```python", joiner.join(p.code for p in pieces), "```", ""]


def _side(text: ModuleType, side: str, src: StageSource, pieces: list[Piece], joiner: str = "\n\n") -> list[str]:
    if not pieces:
        return [f"**{text.LABELS[side]}**: —", ""]
    links = ", ".join(dict.fromkeys(_link(p) for p in pieces)) if joiner != "\n" else _lines(pieces)
    return [f"**{text.LABELS[side]}** · [`{src.path}`]({LINK_ROOT}/{src.path}): {links}", "", *_code(pieces, joiner)]


def _data(text: ModuleType, stage: str, srcs: dict[str, StageSource], problems: dict[str, Piece],
          shown: dict[str, str]) -> list[str]:
    out = []
    for name in dict.fromkeys(n for s in SIDES for n in srcs[s].problems):
        if name not in problems:
            continue
        if name in shown:  # the shared function is printed once, at the first stage that uses it
            first = shown[name]
            out += [text.LABELS["shared_again"].format(name=name, stage=first, anchor=anchor(first)), ""]
        else:
            shown[name] = stage
            out += [text.LABELS["shared"].format(name=name), "", f"{_link(problems[name])}", "",
                    *_code([problems[name]])]
    for side in SIDES:
        src = srcs[side]
        out += _side(text, side, src, src.blocks["data"], joiner="\n")
    return out


def _calls(text: ModuleType, stage: str, lang: str) -> list[str]:
    rows = CALLS.get(stage, [])
    if not rows:
        return []
    out = [f"### {text.LABELS['calls']}", "", text.LABELS["calls_note"], "",
           f"| {text.LABELS['torch']} | {text.LABELS['jax']} | {text.LABELS['why']} |", "|---|---|---|"]
    cell = (lambda text: KO_CELLS.get(text, text)) if lang == "ko" else (lambda text: text)
    out += [f"| {cell(c.torch)} | {cell(c.jax)} | {getattr(c, lang)} |" for c in rows]
    return out + [""]


def _pitfalls(text: ModuleType, stage: str) -> list[str]:
    keys = [k for k in STAGE_PITFALLS.get(stage, []) if k in text.PITFALLS]
    out = [f"### {text.LABELS['pitfalls']}", ""] if keys else []
    for key in keys:
        title, body = text.PITFALLS[key]
        out += [f"**{title}.** {body}", ""]
    return out


def _cell(text: ModuleType, r: dict) -> str:
    mark = text.LABELS["pass"] if r["passed"] else text.LABELS["fail"]
    bad = r.get("first_bad_step")
    more = f" ({text.LABELS['first_bad'].format(step=bad)})" if (bad is not None and not r["passed"]) else ""
    return f"{bucket(r['rel_err'])} {mark}{more}"


def _measured(text: ModuleType, stage: str, measured: dict) -> list[str]:
    names = {"torch": "PyTorch", "jax": "JAX", "reference": text.LABELS["oracle"]}
    rows_by_dtype = {dtype: by_stage[stage] for dtype, by_stage in measured["results"].items() if stage in by_stage}
    if not rows_by_dtype:
        return []
    first = next(iter(rows_by_dtype.values()))
    pairs = list(dict.fromkeys(r["pair"] for r in first))
    header = [text.LABELS["dtype"], text.LABELS["quantity"],
              *(" ↔ ".join(names[s] for s in p.split("-")) for p in pairs), text.LABELS["tolerance"]]
    out = [f"### {text.LABELS['measured']}", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    results = [r for rows in rows_by_dtype.values() for r in rows]
    for dtype, rows in rows_by_dtype.items():
        for quantity in dict.fromkeys(r["quantity"] for r in rows):
            cells = {r["pair"]: r for r in rows if r["quantity"] == quantity}
            tol = max(r["tol"] for r in cells.values())
            out.append(f"| {dtype} | {quantity} | " + " | ".join(_cell(text, cells[p]) for p in pairs)
                       + f" | {power_of_ten(tol)} |")
    failed = sum(not r["passed"] for r in results)
    out += ["", (text.LABELS["some_fail"].format(n=failed, total=len(results), stage=stage) if failed
                 else text.LABELS["all_pass"].format(n=len(results))), ""]
    picture = picture_name(stage)
    out += [f"![{stage}: loss curves of PyTorch and JAX, and their difference](img/{picture})", "",
            text.PICTURE.format(steps=measured["steps"], dtype="float32"), ""]
    return out


def _stage(text, lang, number, stage, srcs, problems, measured, shown) -> list[str]:
    subtitle, prose = text.STAGES.get(stage, ("", text.LABELS["no_prose"]))
    title = f"{number} · `{stage}`" + (f": {subtitle}" if subtitle else "")
    out = [f'<a id="{anchor(stage)}"></a>', "", f"## {title}", ""]
    docs = dict.fromkeys(srcs[s].doc for s in SIDES if srcs[s].doc)
    if docs:
        out += [f"> {text.LABELS['stage_doc']}", *(f"> - {d}" for d in docs), ""]
    out += [prose, "", *_calls(text, stage, lang), f"### {text.LABELS['code']}", ""]
    for block in (*BLOCKS, "other"):
        if block == "data":
            body = _data(text, stage, srcs, problems, shown)
        elif any(srcs[s].blocks[block] for s in SIDES):
            body = [line for s in SIDES for line in _side(text, s, srcs[s], srcs[s].blocks[block])]
        else:
            continue
        out += [f"#### {text.BLOCK_TITLES[block]}", "", *body]
    return out + _pitfalls(text, stage) + _measured(text, stage, measured)


def guide(text: ModuleType, lang: str, sources: dict[str, dict[str, StageSource]], problems: dict[str, Piece],
          measured: dict, tolerances: dict) -> str:
    """The whole guide in one language; `sources[stage][side]`, `problems[name]`: the code shown."""
    stages = list(sources)
    out = [f"# {text.TITLE}", "", f"> {text.GENERATED}", "", text.INTRO, "", f"## {text.LABELS['contents']}", ""]
    out += [f'- <a href="#measuring">{text.LABELS["measure_how"]}</a>']
    for i, stage in enumerate(stages, 1):
        subtitle = text.STAGES.get(stage, ("",))[0]
        out.append(f"- [{i} · `{stage}`" + (f": {subtitle}" if subtitle else "") + f"](#{anchor(stage)})")
    out += ["", '<a id="measuring"></a>', "", f"## {text.LABELS['measure_how']}", "",
            text.MEASURE.format(steps=measured["steps"]), "",
            f"| {text.LABELS['dtype']} | {text.LABELS['tolerance']} | {text.LABELS['why']} |", "|---|---|---|"]
    out += [f"| {mode} | {power_of_ten(t.rel)} | {t.why} |" for mode, t in tolerances.items()]
    out.append("")
    shown: dict[str, str] = {}
    for i, stage in enumerate(stages, 1):
        out += _stage(text, lang, i, stage, sources[stage], problems, measured, shown)
    while out and out[-1] == "":
        out.pop()
    return "\n".join(out) + "\n"


TASTE_START, TASTE_END = "<!-- equivalence docs: taste -->", "<!-- /equivalence docs: taste -->"
TASTE = {"stage": "autograd", "torch": ("loss_fn", "train_step"), "jax": ("loss_fn", "train_step")}


def taste(sources: dict[str, dict[str, StageSource]]) -> str:
    """The README's section: both guides linked, one training step side by side (paths from the root)."""
    stage = TASTE["stage"] if TASTE["stage"] in sources else next(iter(sources))
    cells = []
    for side in SIDES:
        src = sources[stage][side]
        pieces = [p for block in src.blocks.values() for p in block if p.name in TASTE.get(side, ())]
        pieces = pieces or src.blocks["train"]
        cells += ["</td><td>" if cells else "<tr><td>", "", "```python", "\n\n".join(p.code for p in pieces), "```", ""]
    header = "".join(f"<th>{label} · <code>{sources[stage][s].path}</code></th>"
                     for s, label in zip(SIDES, ("PyTorch", "JAX")))
    return "\n".join([
        TASTE_START,
        "## Learn one framework from the other",
        "",
        "[`docs/guide.md`](docs/guide.md) (English) and [`docs/guide.ko.md`](docs/guide.ko.md) (한국어) walk "
        "through every stage with the real code of `torchnet/<stage>.py` and `jaxnet/<stage>.py`, block by "
        "block (define the model, load the data, train, test), a table from each PyTorch call to its "
        "JAX / Flax / Optax counterpart, the pitfalls between them, and the measured equivalence with "
        "pictures of both loss curves. `equivalence docs` writes them from the code and a fresh check; "
        "the tests run `equivalence docs --check`, so they cannot drift from the code.",
        "",
        f"A taste, the `{stage}` stage's training step (forward pass, loss, backward pass, gradient descent):",
        "",
        f"<table>\n<tr>{header}</tr>",
        *cells,
        "</td></tr>\n</table>",
        TASTE_END,
    ]) + "\n"
