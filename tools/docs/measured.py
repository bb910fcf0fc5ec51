"""A fresh `equivalence check` per stage and dtype for the guide, its errors as powers of ten, and the loss pictures."""

from __future__ import annotations

import contextlib
import json
import math
import re
from pathlib import Path

import numpy as np

DTYPES = ("float32", "float64")
PICTURE_DTYPE = "float32"  # the check's default, and the dtype whose rounding a picture can show
BUCKET = re.compile(r"< 1e(-?\d+)|(?<=\| )0(?= )")  # a bucket cell: "< 1e-7 ✓" or "0 ✓"
TOLERANCE_CELL = re.compile(r"\| 1e(-?\d+) \|$")  # a measured row ends with its tolerance
ROW = ("stage", "regime", "quantity", "pair", "rel_err", "tol", "passed")  # what the guide reads of a check row


def power_of_ten(x: float) -> str:
    e = round(math.log10(x))
    return f"1e{e}" if math.isclose(x, 10.0 ** e) else f"{x:.0e}"


@contextlib.contextmanager
def _recording(store: dict):
    """Keep what compare_stage measures (the losses of every step) instead of measuring twice."""
    from equivalence.lecture import check

    real = check.measure

    def measure(row, side, setup):
        out = real(row, side, setup)
        store[(row.name, side.name)] = out["trajectory"]["losses"]
        return out

    check.measure = measure
    try:
        yield
    finally:
        check.measure = real


def measure_all(stages: tuple[str, ...], keep_losses: bool = True) -> dict:
    """{"results": {dtype: {stage: compare_stage rows}}, "losses": {stage: {side: losses}}, "steps": n}.

    The lecture's settings (5000 steps, lr 1e-6, seed 0) on the CPU: the same run as a plain
    `equivalence check --dtype <dtype>`.
    """
    from equivalence.lecture.check import compare_stage
    from equivalence.lecture.stages import Setup, row

    results: dict[str, dict[str, list[dict]]] = {dtype: {} for dtype in DTYPES}
    kept: dict = {}
    for dtype in DTYPES:
        record = _recording(kept) if keep_losses and dtype == PICTURE_DTYPE else contextlib.nullcontext()
        with record:
            for stage in stages:
                results[dtype][stage] = compare_stage(row(stage), Setup(dtype=dtype))
    losses: dict[str, dict[str, np.ndarray]] = {}
    for (stage, side), curve in kept.items():
        losses.setdefault(stage, {})[side] = curve
    return {"results": results, "losses": losses, "steps": Setup().steps}


def to_json(measured: dict) -> str:
    """docs/measured/guide.json: what the pages print, in the order they print it; the loss curves (for the
    pictures only) stay out."""
    def plain(v):
        if isinstance(v, (np.generic, np.ndarray)):
            return v.tolist()
        raise TypeError(f"{type(v).__name__} in the measurements is not JSON")

    kept = {k: v for k, v in measured.items() if k != "losses"}
    kept["results"] = {dtype: {stage: [{k: r[k] for k in ROW if k in r} for r in rows]
                               for stage, rows in by_stage.items()} for dtype, by_stage in measured["results"].items()}
    return json.dumps(kept, indent=1, default=plain, ensure_ascii=False) + "\n"


def from_json(text: str) -> dict:
    return json.loads(text) | {"losses": {}}


def save_pictures(measured: dict, out: Path) -> list[Path]:
    """docs/img/<stage>-loss.png: both frameworks' loss per step, and |difference| per step (log scale)."""
    from training.plots import loss_figure
    from training.runfolder import save_figure

    written = []
    (out / "img").mkdir(parents=True, exist_ok=True)
    for stage, sides in measured["losses"].items():
        curves = {"PyTorch": sides["torch"], "JAX": sides["jax"]}
        title = f"{stage}: loss per step, {PICTURE_DTYPE}, {measured['steps']} steps"
        path = out / "img" / picture_name(stage)
        steps = np.arange(min(len(c) for c in curves.values()))
        save_figure(loss_figure(curves, title, steps=steps), path, dpi=80)
        written.append(path)
    return written


def picture_name(stage: str) -> str:
    return f"{stage}-loss.png"


def _exponents(line: str) -> list[float] | None:
    """The bucket cells of a table line as exponents (0 -> -inf), or None when it has none."""
    found = [-math.inf if m.group(1) is None else int(m.group(1)) for m in BUCKET.finditer(line)]
    return found or None


def same_line(committed: str, fresh: str) -> bool:
    """Equal, or a measured row whose errors moved by at most one power of ten or stayed 100x inside
    the row's tolerance (its last cell). Powers of ten are stable on one machine, but an error near
    a boundary (1.0e-15, say) can land on either side of it on another CPU: rounding, not drift."""
    if committed == fresh:
        return True
    a, b = _exponents(committed), _exponents(fresh)
    if a is None or b is None or len(a) != len(b) or BUCKET.sub("", committed) != BUCKET.sub("", fresh):
        return False
    tol = TOLERANCE_CELL.search(fresh)
    limit = int(tol.group(1)) - 2 if tol else -math.inf
    return all(x == y or abs(x - y) <= 1 or (x <= limit and y <= limit) for x, y in zip(a, b))


NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
TIMING = re.compile(r"µs|\d\s*(?:ms|s)\b")  # a clock reading, in either language: differs on every run


def _close(a: str, b: str) -> bool:
    """Two printed numbers that rounding on another CPU could turn into each other."""
    x, y = float(a), float(b)
    plain = "e" not in a.lower() and "e" not in b.lower()
    last = 10.0 ** -len(a.split(".")[1]) if plain and "." in a else 0.0  # its last printed digit; counts are exact
    return (x == y or abs(x - y) <= 1e-4 * max(abs(x), abs(y)) or abs(x - y) <= 1.5 * last
            or max(abs(x), abs(y)) < 1e-5)  # rounding errors themselves: their digits are noise


def same_output_line(committed: str, fresh: str) -> bool:
    """Equal up to noise: a measured row as `same_line` allows, a clock reading, or numbers a rounding apart."""
    if same_line(committed, fresh):
        return True
    if _exponents(committed) is not None:  # a measured row: same_line's rule is the whole rule
        return False
    a, b = NUMBER.findall(committed), NUMBER.findall(fresh)
    if NUMBER.sub("#", committed) != NUMBER.sub("#", fresh) or len(a) != len(b):
        return False
    return bool(TIMING.search(fresh)) or all(_close(x, y) for x, y in zip(a, b))
