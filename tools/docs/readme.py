"""The README's figures: each section between generated markers is rendered from a JSON file in docs/measured/.

    python -m tools.docs.readme --check                 # exit 1 when a page and the JSON disagree
    python -m tools.docs.readme --write                 # rewrite the generated sections of every page
    python -m tools.docs.readme --measure env --lane pinned|newest  # env.json: the installed packages
    python -m tools.docs.readme --measure equivalence   # docs/measured/equivalence.json: `equivalence check --json`

A section is `<!-- generated: NAME -->` ... `<!-- /generated: NAME -->`; what lies between is never typed.
The pages: README.md, README.ko.md (the same sections in Korean: a page named *.ko.md renders in Korean) and
docs/speed.md (whose full tables are tools/docs/speedpage.py's).
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from tools.docs import record, speedpage
from tools.docs.readme_words import REGIME_KO, WORDS
from tools.docs.record import DTYPES, PACKAGES
from tools.docs.source import ROOT
from training.runfolder import atomic_write_bytes

README = ROOT / "README.md"
README_KO = ROOT / "README.ko.md"
PAGES = (README, README_KO, ROOT / "docs" / "speed.md")  # every page with generated sections
MEASURED = ROOT / "docs" / "measured"
MARKER = re.compile(r"<!-- generated: (?P<name>[\w-]+) -->\n(?P<body>.*?)<!-- /generated: (?P=name) -->", re.S)
QUANTITIES = ("predictions", "gradients", "update", "trajectory")


class MissingMeasurement(Exception):
    """A section's JSON is absent or lacks a field; the message says which command writes it."""


class Section(NamedTuple):
    sources: tuple[str, ...]  # file names under docs/measured/
    render: Callable[..., str]  # one parsed JSON per source (and lang=) -> the Markdown between the markers
    writer: str  # the command that writes the sources
    optional: tuple[str, ...] = ()  # sources that may be missing: the renderer gets None and leaves them out


def _sci(x: float, digits: int = 1) -> str:
    """1.2e-16, 1e-12: the exponent without its leading zero."""
    mantissa, exp = f"{x:.{digits}e}".split("e")
    return f"{mantissa}e{int(exp)}"


def lang_of(page: Path) -> str:
    """The language a page's sections render in: "ko" for README.ko.md and any *.ko.md, else "en"."""
    return "ko" if page.name.endswith(".ko.md") else "en"


# The words of every section, per language; the figures are the JSON's.
LANES = {"pinned": "pinned: `.ci/pinned.txt`, the lower bounds", "newest": "the newest pip resolved on {date}"}


def render_env(env: dict, lang: str = "en") -> str:
    """One line per CI lane (.ci/run) that ran: its Python and package versions."""
    lines, lanes = [], WORDS[lang].get("lanes", LANES)
    order = list(LANES)  # .ci/run's order: pinned, then newest; any other lane after them
    for name, lane in sorted(env["lanes"].items(), key=lambda kv: (order.index(kv[0]) if kv[0] in order else 9, kv[0])):
        versions = ", ".join(f"{p} {lane[p]}" for p in PACKAGES)
        what = lanes.get(name, lanes.get(name.split("-")[0], name)).format(date=lane.get("date", "?"))  # newest-3.13
        lines.append(f"- Python {lane['python']}, {versions} ({what}; {lane['platform']})")
    return WORDS[lang]["tested"] + "\n\n" + "\n".join(lines) + "\n"


def render_equivalence(eq: dict, lang: str = "en") -> str:
    """One row per dtype: rows passing, the worst relative error per quantity, the tolerance."""
    w = WORDS[lang]
    lines = [w["eq_head"], "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    steps = set()
    for dtype in DTYPES:
        run = eq[dtype]
        rows = run["results"]
        worst = {q: max((r["rel_err"] for r in rows if r["quantity"] == q and r["rel_err"] is not None),
                        default=math.nan) for q in QUANTITIES}
        tols = sorted({r["tol"] for r in rows})
        steps |= {(r["regime"], r["steps"]) for r in rows if r["quantity"] == "trajectory"}
        passing = sum(r["passed"] for r in rows)
        lines.append(f"| {dtype} | {w['of'].format(a=passing, b=len(rows))} | " + " | ".join(_sci(worst[q]) for q in QUANTITIES)
                     + f" | {', '.join(_sci(t, 0) for t in tols)} |")
    failing: dict[str, list[str]] = {}  # "float32 cnn train trajectory" -> its failing pairs
    for dtype in DTYPES:
        for r in eq[dtype]["results"]:
            if not r["passed"]:
                failing.setdefault(f"{dtype} {r['stage']} {r['regime']} {r['quantity']}", []).append(r["pair"])
    runs = w["and"].join(w["eq_runs"].format(n=n, regime=regime, regime_ko=REGIME_KO.get(regime, regime))
                         for regime, n in sorted(steps))
    lines.append("")
    took = w["took"].format(f32=eq["float32"]["wall_s"], f64=eq["float64"]["wall_s"], cores=eq["cores"]) \
        if "wall_s" in eq["float32"] else ""
    lines.append(w["eq_note"].format(device=eq["device"].upper(), runs=runs, command=eq["command"], took=took)
                 + "".join(w["failing"].format(what=what, pairs=", ".join(pairs)) for what, pairs in failing.items()))
    return "\n".join(lines) + "\n"


def render_speed(seed: dict, mlp: dict | None, lang: str = "en") -> str:
    """jax-scan against the fastest torch row of the same run, per problem, and against the hand-written reference
    (jax-floor) or the roofline estimate. The estimate prices the matmuls at a GEMM rate measured on one size, so a
    row may beat it: it is given as a time ratio, never as a "% of ceiling"."""
    w = WORDS[lang]
    lines = [w["speed_head"], "| --- | ---: | --- | ---: | ---: |"]
    notes = []
    # Sizes are left to benchmarks/impls.py, the one place that sets them: the JSON does not carry them.
    problems = ((w["seed"], seed), (w["mlp"], mlp))
    for label, res in ((label, res) for label, res in problems if res is not None):
        rows = {r["impl"]: r for r in res["results"]}
        try:
            best, scan = rows[res["best_torch"]], rows["jax-scan"]
            ratio = scan["x_vs_best_torch"]
        except KeyError as e:
            raise MissingMeasurement(f"docs/measured/bench-{res['problem']}.json lacks {e}: rerun "
                                     f"`{SPEED_WRITER}`") from None
        speedup = f"{ratio:.0f}×" if ratio >= 10 else f"{ratio:.2f}×"
        lines.append(f"| {label} | {speedpage.us_text(scan['us_per_step'])} | `{best['impl']}` | "
                     f"{speedpage.us_text(best['us_per_step'])} | {speedup} |")
        if scan.get("x_of_floor") and not scan.get("pct_of_ceiling"):  # a roofline, where there is one, says more
            notes.append(w["floor"].format(problem=res["problem"], x=scan["x_of_floor"]))
        if scan.get("pct_of_ceiling"):
            best_pct = max(r["pct_of_ceiling"] for r in res["results"] if r.get("pct_of_ceiling"))
            notes.append(w["roofline"].format(problem=res["problem"], x=100 / scan["pct_of_ceiling"],
                                              est=speedpage.us_text(res["us_per_step_ceiling"]), best=100 / best_pct))
    lines.append("")
    note = w["sep"].join(notes)
    note = note[:1].upper() + note[1:] if lang == "en" else note
    lines.append((note + ". " if notes else "") +
                 w["speed_note"].format(device=seed["device"].upper(), cores=seed["cpu_count"],
                                        load=seed["load_avg_start_end"][0], precision=seed["precision"],
                                        writer=SPEED_WRITER))
    return "\n".join(lines) + "\n"


def render_commands(cli: dict, lang: str = "en") -> str:
    """Each CLI command as a whole process: wall (CPU) seconds on a cold and on a warm compile cache, and the first
    run against its budget (training + compile + benchmarks/cli.py's SLACK_S)."""
    w = WORDS[lang]
    lines = [w["cmd_head"], "| --- | ---: | ---: | ---: | ---: | ---: |"]
    runs: dict[str, dict[int, dict]] = {}
    for r in cli["runs"]:
        runs.setdefault(r["command"], {})[r["run"]] = r

    def cell(r: dict | None) -> str:
        return "-" if not r or r.get("wall_s") is None else f"{r['wall_s']:.1f} s ({r['cpu_s']:.1f} s)"

    def seconds(r: dict, key: str) -> str:
        value = (r.get("timings") or {}).get(key)
        return "-" if value is None else f"{value:.2f} s"

    runs[cli["anchor"]["command"]] = {1: cli["anchor"]}  # the plain PyTorch script: one run, no cache to find
    for command, by_run in runs.items():
        name = command if command == cli["anchor"]["command"] else f"`{command}`"
        first = by_run[1]
        lines.append(f"| {name} | {cell(first)} | {cell(by_run.get(2))} | {seconds(first, 'train_s')} | "
                     f"{seconds(first, 'build_s')} | {_budget(first, w)} |")
    lines.append("")
    lines.append(w["cmd_note"].format(device=cli["device"].upper(), cores=cli["cpu_count"],
                                      load=cli["load_avg_start_end"][0], quick=w["quick"] if cli.get("quick") else "",
                                      writer=COMMANDS_WRITER))
    return "\n".join(lines) + "\n"


def _budget(run: dict, w: dict) -> str:
    """speedpage.budget_text in the page's language."""
    text = speedpage.budget_text(run, ".1f")
    return text.replace(" met", " " + w["met"]).replace(" **over**", " " + w["over"])


def render_accuracy(defaults: dict, lang: str = "en") -> str:
    """One wrapped paragraph: `--stage mlp`'s test accuracy per data set (jax / torch where they differ), softmax
    regression's on the same split in brackets, and **below** where the mlp loses."""
    parts, alike = [], True
    for name, entry in defaults["data"].items():
        runs, linear = entry["runs"]["defaults"], entry["softmax_regression"]
        accs = [f"{runs[fw]['test_accuracy']:.3f}" if fw in runs else "-" for fw in ("jax", "torch")]
        alike &= accs[0] == accs[1]
        below = any(r["test_accuracy"] < linear - 1e-9 for r in runs.values())
        acc = accs[0] if accs[0] == accs[1] else " / ".join(accs)
        parts.append(f"{name} {acc} ({linear:.3f}{', **below**' if below else ''})")
    d = defaults["defaults"]
    text = (f"Default `--stage mlp` (hidden {','.join(map(str, d['hidden']))}, lr {d['lr']:g}, weight decay "
            f"{d['weight_decay']:g}) test accuracy, {'jax = torch' if alike else 'jax / torch'} (softmax regression, "
            f"same split): " + "; ".join(parts) + f" (`{ACCURACY_WRITER}`).")
    if lang != "en":
        w = WORDS[lang]
        text = w["acc"].format(hidden=",".join(map(str, d["hidden"])), lr=f"{d['lr']:g}", wd=f"{d['weight_decay']:g}",
                               alike=w["alike"] if alike else w["differ"], writer=ACCURACY_WRITER,
                               parts="; ".join(parts).replace(", **below**", w["below"]))
    return "\n".join(textwrap.wrap(text, 110, break_on_hyphens=False, break_long_words=False)) + "\n"


ACCURACY_WRITER = "python benchmarks/defaults.py --out docs/measured/defaults.json"
SPEED_WRITER = "python benchmarks/bench.py --problem seed|mlp --out docs/measured/bench-<problem>.json"
COMMANDS_WRITER = "python benchmarks/cli.py --json docs/measured/bench-cli.json"
MEMMAP_WRITER = "python benchmarks/bench_memmap.py --repeats 5 --out docs/measured/bench-memmap.json"


def _bench_writer(problem: str) -> str:
    return f"python benchmarks/bench.py --problem {problem} --out docs/measured/bench-{problem}.json"


def _with_writer(source: str, render: Callable[[dict, str], str], writer: str) -> Section:
    """A section from one JSON whose renderer also names the command that writes it."""
    return Section((source,), lambda data, lang="en": render(data, writer), writer)

SECTIONS = {
    "tested-with": Section(("env.json",), render_env, "python -m tools.docs.readme --measure env"),
    "equivalence": Section(("equivalence.json",), render_equivalence,
                           "python -m tools.docs.readme --measure equivalence"),
    "speed": Section(("bench-seed.json", "bench-mlp.json"), render_speed, SPEED_WRITER, optional=("bench-mlp.json",)),
    "commands": Section(("bench-cli.json",), render_commands, COMMANDS_WRITER),
    "accuracy": Section(("defaults.json",), render_accuracy, ACCURACY_WRITER),
    # docs/speed.md
    "bench-seed-rows": _with_writer("bench-seed.json", speedpage.render_bench_rows, _bench_writer("seed")),
    "bench-mlp-rows": _with_writer("bench-mlp.json", speedpage.render_bench_rows, _bench_writer("mlp")),
    "commands-rows": _with_writer("bench-cli.json", speedpage.render_cli_rows, COMMANDS_WRITER),
    "memmap": _with_writer("bench-memmap.json", speedpage.render_memmap, MEMMAP_WRITER),
}


def render(name: str, measured: Path = MEASURED, lang: str = "en") -> str:
    """The Markdown of one section from its JSON files, in `lang`."""
    if name not in SECTIONS:
        raise MissingMeasurement(f"unknown generated section {name!r}: known are {', '.join(SECTIONS)}")
    section = SECTIONS[name]
    data = []
    for source in section.sources:
        path = measured / source
        if not path.is_file() and source in section.optional:
            data.append(None)
            continue
        if not path.is_file():
            raise MissingMeasurement(f"{path} is missing: write it with `{section.writer}`")
        data.append(json.loads(path.read_text(encoding="utf-8")))
    try:
        return section.render(*data, lang=lang)
    except KeyError as e:
        raise MissingMeasurement(f"{name}: {', '.join(section.sources)} lacks {e}: rewrite with `{section.writer}`") from None


def update(text: str, measured: Path = MEASURED, lang: str = "en") -> str:
    """The README text with every generated section rendered afresh."""
    return MARKER.sub(lambda m: f"<!-- generated: {m['name']} -->\n{render(m['name'], measured, lang)}"
                                f"<!-- /generated: {m['name']} -->", text)


def drift(text: str, measured: Path = MEASURED, lang: str = "en") -> list[str]:
    """The names of the sections whose text differs from what their JSON renders."""
    return [m["name"] for m in MARKER.finditer(text) if m["body"] != render(m["name"], measured, lang)]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tools.docs.readme", description=__doc__.splitlines()[0])
    act = p.add_mutually_exclusive_group(required=True)
    act.add_argument("--check", action="store_true", help="exit 1 when a generated section differs from its JSON")
    act.add_argument("--write", action="store_true", help="rewrite the generated sections from docs/measured/")
    act.add_argument("--measure", choices=("env", "equivalence"), help="write docs/measured/<name>.json")
    p.add_argument("--steps", type=int, help="--measure equivalence: training-run length (default: the check's)")
    p.add_argument("--lane", default="pinned", help="--measure env: the CI lane these versions ran in (.ci/run)")
    p.add_argument("--readme", type=Path, action="append", help="a page to check or write (default: every page "
                   "with generated sections: " + ", ".join(str(page.relative_to(ROOT)) for page in PAGES) + ")")
    p.add_argument("--measured", type=Path, default=MEASURED)
    args = p.parse_args(argv)
    try:
        if args.measure:
            data = (record.env_record(args.measured, args.lane) if args.measure == "env"
                    else record.measure_equivalence(args.steps))
            args.measured.mkdir(parents=True, exist_ok=True)
            record.write_json(args.measured / f"{args.measure}.json", data)
            print(f"wrote {args.measured / (args.measure + '.json')}; now run --write")
            return 0
        stale = 0
        for page in args.readme or PAGES:
            text = page.read_text(encoding="utf-8")
            if args.check:
                for name in drift(text, args.measured, lang_of(page)):
                    stale += 1
                    print(f"{page}: section {name!r} differs from docs/measured: run "
                          "`python -m tools.docs.readme --write`")
                continue
            new = update(text, args.measured, lang_of(page))
            if new != text:
                atomic_write_bytes(page, new.encode("utf-8"))
            print(f"{page}: {len(MARKER.findall(new))} generated sections up to date")
        return 1 if stale else 0
    except (MissingMeasurement, record.RecordFailed, OSError, json.JSONDecodeError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
