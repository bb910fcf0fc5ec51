"""Where a CLI run's seconds go, measured inside the process: imports, build, compile, train, eval, figures, writes."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator

KEYS = ("imports_s", "build_s", "compile_s", "train_s", "eval_s", "figures_s", "writes_s", "total_s")


@contextlib.contextmanager
def spent(timings: dict[str, float], key: str) -> Iterator[None]:
    """Add the seconds the block takes to timings[key]."""
    t0 = time.perf_counter()
    try:
        yield
    finally:
        timings[key] = timings.get(key, 0.0) + time.perf_counter() - t0


class Timed:
    """A training.session Backend whose forward passes (loss, predict) add their seconds to timings["eval_s"], and
    whose model and optimizer construction (build) to timings["build_s"]: torch.optim's first optimizer imports
    torch._dynamo (~1 s), a cost no other bucket would show."""

    def __init__(self, backend, timings: dict[str, float], built: Callable[[], None] | None = None):
        self._backend, self._timings, self._built = backend, timings, built

    def __getattr__(self, name: str):
        return getattr(self._backend, name)

    def build(self, *args):
        with spent(self._timings, "build_s"):
            trainer = self._backend.build(*args)
        if self._built is not None:  # once, after the first build
            self._built, built = None, self._built
            built()
        return trainer

    def loss(self, *args):
        with spent(self._timings, "eval_s"):
            return self._backend.loss(*args)

    def predict(self, *args):
        with spent(self._timings, "eval_s"):
            return self._backend.predict(*args)


def table(timings: dict[str, float], metrics: dict, started: float) -> dict[str, float]:
    """metrics.json's `timings`: every key of KEYS, total_s counted from `started` (perf_counter) until now."""
    out = {key: float(timings.get(key, 0.0)) for key in KEYS}
    out |= {"compile_s": float(metrics.get("compile_s") or 0.0), "train_s": float(metrics.get("train_s") or 0.0),
            "total_s": time.perf_counter() - started}
    return out
