"""docs/notebooks/<stage>.ipynb and <stage>.ko.ipynb: built from the guide's sources, executed in one shared kernel."""

from __future__ import annotations

import copy
from pathlib import Path
from types import SimpleNamespace as Prose

NOTEBOOK_STEPS = 20  # enough to see both losses fall together; every notebook runs in seconds on a CPU
TIMEOUT_S = 300

SETUP = '''\
import jax
import jax.numpy as jnp
import numpy as np

from equivalence.stages import Setup, row
from torchnet.device import tensor

stage = row("{stage}")  # torchnet.{stage}, jaxnet.{stage}, and the data and weights both start from
weights, x, y = stage.problem(Setup())
print("x", x.shape, x.dtype, "| y", y.shape, y.dtype)
print("weights:", ", ".join(f"{{name}} {{a.shape}}" for name, a in weights.items()))'''

TRAIN = '''\
steps, lr = {steps}, {lr}
xt, yt = tensor(x), tensor(y)
torch_trainer, torch_losses = stage.torch.train(stage.torch.build(weights, lr),
                                                xt.expand(steps, *xt.shape), yt.expand(steps, *yt.shape))
with jax.default_matmul_precision("highest"):  # full float32 matmuls, as torch's
    jax_trainer, jax_losses = stage.jax.train(stage.jax.build(weights, lr), jnp.broadcast_to(x, (steps, *x.shape)),
                                              jnp.broadcast_to(y, (steps, *y.shape)))
print(f"PyTorch: loss {{torch_losses[0].item():.4f}} -> {{torch_losses[-1].item():.4f}} after {{steps}} steps")
print(f"JAX:     loss {{float(jax_losses[0]):.4f}} -> {{float(jax_losses[-1]):.4f}} after {{steps}} steps")'''

COMPARE = '''\
from equivalence.report import bucket  # an error as the power of ten above it: 3e-7 -> "< 1e-6"

a, b = stage.torch.export(torch_trainer), stage.jax.export(jax_trainer)
keys = [k for k in weights if k in a and np.issubdtype(a[k].dtype, np.floating)]
diff = np.sqrt(sum(np.sum((a[k] - b[k]) ** 2) for k in keys))
moved = np.sqrt(sum(np.sum((a[k] - weights[k]) ** 2) for k in keys))
print(f"trained weights: PyTorch and JAX differ by {{bucket(diff / moved)}} of how far the weights moved")'''


def notebook_name(stage: str, lang: str) -> str:
    return f"{stage}.ipynb" if lang == "en" else f"{stage}.{lang}.ipynb"


def build(stage: str, lang: str, text: Prose, number: int, lr: float, side_by_side: str, exercises: list[str],
          run_output: str):
    """One stage's notebook, without outputs: Markdown from the guide's prose, code that trains both frameworks."""
    import nbformat

    subtitle, prose = text.STAGES.get(stage, ("", text.LABELS["no_prose"]))
    guide = "guide.md" if lang == "en" else f"guide.{lang}.md"
    md, code = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell
    cells = [
        md(f"# {number} · `{stage}`" + (f": {subtitle}" if subtitle else "") + "\n\n" + prose + "\n\n"
           + text.NOTEBOOK["from_guide"].format(guide=f"../{guide}#stage-{stage}")),
        md(text.NOTEBOOK["setup"]), code(SETUP.format(stage=stage)),
        md(text.NOTEBOOK["train"].format(steps=NOTEBOOK_STEPS, lr=lr)),
        code(TRAIN.format(steps=NOTEBOOK_STEPS, lr=lr)),
        md(text.NOTEBOOK["compare"]), code(COMPARE.format()),
        md(f"## {text.LABELS['differs']}\n\n{side_by_side}"),
        md(f"## {text.LABELS['run']}\n\n" + text.NOTEBOOK["run"].format(stage=stage) + f"\n\n```\n{run_output}```"),
    ]
    if exercises:
        cells.append(md(f"## {text.LABELS['exercises']}\n\n" + "\n".join(exercises) + "\n\n"
                        + text.NOTEBOOK["solutions"].format(guide=f"../{guide}#exercises-{stage}")))
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def _with_outputs_of(nb, twin):
    """`nb` with the outputs `twin`, an executed notebook with the same code cells, printed."""
    pairs = zip((c for c in nb.cells if c.cell_type == "code"), (c for c in twin.cells if c.cell_type == "code"),
                strict=True)
    for cell, ran in pairs:
        cell.outputs, cell.execution_count = copy.deepcopy(ran.outputs), ran.execution_count
    nb.metadata.pop("language_info", None)
    return nb


def _code(nb) -> tuple[str, ...]:
    return tuple(c.source for c in nb.cells if c.cell_type == "code")


def execute(notebooks: list, cwd: Path, known: list = ()) -> list:
    """Run every notebook in ONE kernel (jax and torch import once): each starts from `%reset -f`. A notebook whose
    code cells are a previous one's (a stage's Korean twin of its English notebook), or those of one in `known`
    (executed notebooks: the committed ones), is not run again: its code cells get those outputs, which the same
    code prints. No kernel starts when every notebook is known."""
    import nbformat
    from nbclient import NotebookClient

    ran = {_code(nb): nb for nb in map(nbformat.from_dict, known)}  # code cells' sources -> an executed notebook
    out, km = [], None
    try:
        for nb in notebooks:
            nb = nbformat.from_dict(nb)
            code = _code(nb)
            if code in ran:
                out.append(_with_outputs_of(nb, ran[code]))
                continue
            km = km or _kernel(cwd)
            nb.cells.insert(0, nbformat.v4.new_code_cell("%reset -f"))
            NotebookClient(nb, km=km, timeout=TIMEOUT_S, allow_errors=False, coalesce_streams=True,
                       record_timing=False).execute()
            nb.cells.pop(0)
            for i, cell in enumerate(c for c in nb.cells if c.cell_type == "code"):
                cell.execution_count = i + 1  # as a fresh kernel numbers them
                for output in cell.get("outputs", []):
                    if "execution_count" in output:
                        output["execution_count"] = i + 1
            nb.metadata.pop("language_info", None)  # the kernel's Python version: not the notebook's business
            out.append(nb)
            ran[code] = nb
        return out
    finally:
        if km is not None:
            km.shutdown_kernel(now=True)


def _kernel(cwd: Path):
    from jupyter_client.manager import KernelManager

    km = KernelManager(kernel_name="python3")
    km.start_kernel(cwd=str(cwd))
    return km


def text_of(nb) -> list[str]:
    """The lines a reader sees: every cell's source, then its printed output (no ids, counts or metadata)."""
    lines = []
    for cell in nb["cells"]:
        lines += [f"[{cell['cell_type']}]", *cell["source"].splitlines()]
        if cell.get("outputs"):  # one block per cell: how a kernel splits a stream into outputs is chance
            lines.append("[output]")
        for output in cell.get("outputs", []):
            body = output.get("text") or "".join(output.get("data", {}).get("text/plain", ""))
            lines += str(body).splitlines()
    return lines


def sources_of(nb) -> list[str]:
    return [line for line in text_of({"cells": [{"cell_type": c["cell_type"], "source": c["source"]}
                                                for c in nb["cells"]]})]


def errors_in(nb) -> list[str]:
    return [f"{o.get('ename')}: {o.get('evalue')}" for c in nb["cells"] for o in c.get("outputs", [])
            if o.get("output_type") == "error"]


def stable_json(nb) -> str:
    """The notebook as committed: nbformat's JSON with cell ids made from their position (no random ids)."""
    import nbformat

    for i, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{i}"
    return nbformat.writes(nb) + "\n"

