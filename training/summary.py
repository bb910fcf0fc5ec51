"""What a CLI run prints: a progress bar while it trains, then a few lines that say what happened."""

from __future__ import annotations

from training import verdict
from training.compare import OTHER


def print_summary(m: dict) -> None:
    print(f"{m['framework']} {m['stage']}: {loss_line(m)} "
          f"({m['steps_per_s'] or 0:,.0f} steps/s{_compiled(m)}) on {m['device']}")
    v = m.get("validation")
    if v:
        stop = f"stopped at step {v['stopped_at_step']}" if v["stopped_at_step"] else "did not stop early"
        print(f"validation ({v['rows']} rows): {stop}; best step {v['best_step']}: loss {v['best_loss']:.4g}, "
              f"accuracy {v['best_accuracy']:.4f} (its weights are the run's)")
    if "test_accuracy" in m:
        print(f"test accuracy {m['test_accuracy']:.4f}; confusion matrix (rows: true class):")
        for name, row in zip(m["class_names"], m["confusion"]):
            print(f"  {name:>12} " + " ".join(f"{v:4d}" for v in row))
    if "compare" in m:
        print(verdict.line(m["compare"], m["dtype"], OTHER[m["framework"]].removesuffix("net")))
    print(f"run folder: {m['run_folder']}")


def loss_line(m: dict) -> str:
    """What the run's two training losses are: where it started (a resume: the step it resumed at) and the weights it
    kept, which with validation are the best validation step's, not the last step's (so the loss may be higher)."""
    start = m["resumed_from_step"] or 0
    reached = start + m["steps_this_run"]
    v = m.get("validation")
    before = f"training loss {m['initial_loss']:.6g}" + (f" at step {start} (resumed)" if start else "")
    if not (v and 0 <= v["best_step"] != reached):
        return f"{before} -> {m['final_loss']:.6g} after {reached} steps"
    when = "before this run resumed" if v["best_step"] < start else f"of {reached} steps"
    return (f"{before} -> {m['final_loss']:.6g} at step {v['best_step']}, the weights kept "
            f"(the best validation loss {when})")


def _compiled(m: dict) -> str:
    """', compile 0.31 s: 3 programs' (or '..., 0 compiled, 3 from the cache'); nothing for an eager framework."""
    if not m.get("compilations") and not m.get("cache_hits"):
        return f", compile {m['compile_s']:.2f} s" if m.get("compile_s") else ""
    cached = f", {m['compilations']} compiled, {m['cache_hits']} from the cache" if m.get("cache_hits") else \
        f": {m['compilations']} programs"
    return f", compile {m['compile_s']:.2f} s{cached}"


class ProgressBar:
    """A rich progress bar updated once per chunk: step, loss, steps/s."""

    def __init__(self, framework: str, stage: str):
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self._p = Progress(TextColumn(f"{framework} {stage}"), BarColumn(), MofNCompleteColumn(),
                           TextColumn("loss {task.fields[loss]}"), TextColumn("{task.fields[val]}"),
                           TextColumn("{task.fields[rate]} steps/s"), TimeRemainingColumn())
        self._task = self._p.add_task("train", total=None, loss="-", rate="-", val="")
        self._p.start()

    def update(self, done: int, total: int, loss: float, rate: float, val: tuple[float, float] | None = None) -> None:
        shown = {"val": f"val loss {val[0]:.4g} acc {val[1]:.3f}"} if val else {}
        self._p.update(self._task, completed=done, total=total, loss=f"{loss:.5g}", rate=f"{rate:,.0f}", **shown)

    def close(self) -> None:
        self._p.stop()
