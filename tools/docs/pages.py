"""The two chapters beside the guide: every pitfall once with its measured cost, and JAX for PyTorch users."""

from __future__ import annotations

from types import SimpleNamespace as Prose

from tools.docs.basics import EXAMPLES
from tools.docs.per_stage import STAGE_PITFALLS
from tools.docs.render import anchor, results


def pitfalls(text: Prose, pages: Prose, lang: str, costs: dict, stages: list[str]) -> str:
    suffix = "" if lang == "en" else f".{lang}"
    other = "pitfalls.ko.md" if lang == "en" else "pitfalls.md"
    out = [f"# {pages.PITFALLS_TITLE}", "", f"> {pages.GENERATED.format(other=other)}", "", pages.PITFALLS_INTRO, ""]
    met: dict[str, list[str]] = {}
    for stage in stages:
        for key in STAGE_PITFALLS.get(stage, []):
            met.setdefault(key, []).append(stage)
    for key, (title, body) in text.PITFALLS.items():
        out += [f'<a id="{key}"></a>', "", f"## {title}", "", body, ""]
        if key in costs:
            out += [f"{pages.LABELS['measured']}", "", "```", results(costs[key], pages.COST_NAMES), "```", ""]
        if met.get(key):
            out += [pages.LABELS["met_in"] + " " + ", ".join(f"[`{s}`](guide{suffix}.md#{anchor(s)})" for s in met[key])
                    + ".", ""]
    return "\n".join(out).rstrip("\n") + "\n"


def basics(pages: Prose, outputs: dict[str, str], lang: str = "en") -> str:
    other = "jax-for-torch-users.ko.md" if lang == "en" else "jax-for-torch-users.md"
    out = [f"# {pages.BASICS_TITLE}", "", f"> {pages.GENERATED.format(other=other)}", "", pages.BASICS_INTRO, ""]
    for ex in EXAMPLES:
        title, body, habit = pages.BASICS[ex.key]
        out += [f'<a id="{ex.key}"></a>', "", f"## {title}", "", f"{pages.LABELS['in_torch']} {habit}", "", body, "",
                "```python", ex.code.rstrip("\n"), "```", ""]
        if ex.key in outputs:
            out += [pages.LABELS["prints"], "", "```", outputs[ex.key].rstrip("\n"), "```", ""]
    return "\n".join(out).rstrip("\n") + "\n"
