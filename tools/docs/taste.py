"""The README's taste of the guide: one training step side by side, pasted between two markers."""

from __future__ import annotations

from tools.docs import prose
from tools.docs.source import StageSource

SIDES = ("torch", "jax")
TASTE_START, TASTE_END = "<!-- tools/docs: taste -->", "<!-- /tools/docs: taste -->"
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
        prose.read("taste.en.md")["TASTE"].format(stage=stage),
        "",
        f"<table>\n<tr>{header}</tr>",
        *cells,
        "</td></tr>\n</table>",
        TASTE_END,
    ]) + "\n"
