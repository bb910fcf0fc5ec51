"""The docs' prose, read from the Markdown templates in tools/docs/templates/ into the names the renderers use."""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

TEMPLATES = Path(__file__).resolve().parent / "templates"
LANGS = ("en", "ko")  # every template comes as <name>.<lang>.md
# One entry per marker, up to the next: `<!-- NAME -->` is a text, `<!-- NAME: key -->` one entry of a table.
MARKER = re.compile(r"^<!-- (?P<name>[A-Z_]+)(?:: (?P<key>.+?))? -->\n", re.M)
TITLED = {"STAGES", "PITFALLS", "BASICS", "EXERCISES"}  # entries that open with `## title`: (title, body)
TABLES = {"LABELS", "NOTEBOOK", "QUANTITIES", "TOLERANCE_WHY", "RESULT_NAMES", "COST_NAMES", "STAGES", "NEXT",
          "PITFALLS", "BASICS", "HABITS", "EXERCISES", "CALLS"}  # always a dict, empty when a language has none


def _titled(name: str, key: str, body: str) -> tuple[str, str]:
    title, blank, rest = (body.split("\n", 2) + ["", ""])[:3]
    if not title.startswith("## ") or blank:
        raise ValueError(f"{name}: {key} must open with a `## title` line and a blank line")
    return title[3:], rest


def read(*files: str) -> dict:
    """{NAME: text, or {key: text / (title, body)}} from the named templates; placeholders stay as written."""
    out: dict = {name: {} for name in TABLES}
    for file in files:
        text = (TEMPLATES / file).read_text(encoding="utf-8")
        found = list(MARKER.finditer(text))
        for m, nxt in zip(found, [*found[1:], None]):
            body = text[m.end():nxt.start() if nxt else len(text)].rstrip("\n")
            name, key = m["name"], m["key"]
            if key is None:
                out[name] = body
            else:
                out.setdefault(name, {})[key] = _titled(name, key, body) if name in TITLED else body
    return out


def guide(lang: str) -> SimpleNamespace:
    """The guide's and the notebooks' prose in one language, with the pitfalls the guide links by title."""
    return SimpleNamespace(**read(f"guide.{lang}.md", f"labels.{lang}.md", f"pitfalls.{lang}.md", f"calls.{lang}.md"))


def pages(lang: str) -> SimpleNamespace:
    """The pitfalls page's and "JAX for PyTorch users"' prose; BASICS entries are (title, body, habit)."""
    found = read(f"pages.{lang}.md", f"pitfalls.{lang}.md")
    found["BASICS"] = {key: (*entry, found["HABITS"][key]) for key, entry in found["BASICS"].items()}
    return SimpleNamespace(**found)
