"""One implementation under the clock: a cold and a warm call, then timed repeats; a SIGTERM keeps the rows so far."""

from __future__ import annotations

import math
import statistics
import time

STOP = {"reason": None}  # set by SIGTERM (a `timeout`): finish with the rows measured so far


def on_sigterm(signum, frame):
    STOP["reason"] = "stopped by SIGTERM (a timeout) before this finished"
    raise TimeoutError(STOP["reason"])


def unless_stopped(f):
    try:
        return None if STOP["reason"] else f()
    except TimeoutError:
        return None


class Timed:
    """One implementation under the clock: a cold and a warm call, then timed repeats of `calls` calls."""

    def __init__(self, impl: str, make, steps: int, skipped: str | None = None):
        self.impl, self.steps, self.row = impl, steps, {"impl": impl}
        self.per_step: list[float] = []
        if skipped:  # a row that cannot run on this device: kept, with the reason
            self.row |= {"us_per_step": None, "compile_s": None, "skipped": skipped}
            return
        try:
            self.run, self.to_loss = make()
        except Exception as err:  # noqa: BLE001 - e.g. torch.compile without a C compiler: a row, not a crash
            self.fail(err)

    @property
    def ok(self) -> bool:
        return "error" not in self.row and "skipped" not in self.row

    def fail(self, err: BaseException) -> None:
        text = " ".join(f"{type(err).__name__}: {err}".split())
        self.row = {"impl": self.impl, "us_per_step": None, "compile_s": None, "error": text[:500]}

    def warm_up(self, repeats: int, min_repeat_s: float, max_s: float | None) -> None:
        if not self.ok:
            return
        if STOP["reason"]:
            return self.fail(TimeoutError(STOP["reason"]))
        try:
            t0 = time.perf_counter()
            out = self.run()
            self.cold = time.perf_counter() - t0
            self.row["loss_after_first_call"] = self.to_loss(out)
            t0 = time.perf_counter()
            self.run()
            warm = time.perf_counter() - t0
        except Exception as err:  # noqa: BLE001 - one implementation failing must not lose the others
            return self.fail(err)
        self.calls = max(1, math.ceil(min_repeat_s / max(warm, 1e-9)))
        self.repeats = repeats if not max_s else max(2, min(repeats, int(max_s / (self.calls * warm))))

    def repeat(self) -> None:
        if not self.ok or len(self.per_step) >= self.repeats or STOP["reason"]:
            return
        try:
            t0 = time.perf_counter()
            for _ in range(self.calls):
                self.run()
            self.per_step.append((time.perf_counter() - t0) / (self.calls * self.steps))
        except Exception as err:  # noqa: BLE001
            self.fail(err)

    def result(self) -> dict:
        if not self.ok:
            return self.row
        if not self.per_step:
            self.fail(TimeoutError(STOP["reason"]))
            return self.row
        median = statistics.median(self.per_step)
        return self.row | {"us_per_step": median * 1e6, "us_per_step_min": min(self.per_step) * 1e6,
                           "compile_s": max(self.cold - median * self.steps, 0.0), "steps_per_call": self.steps,
                           "calls_per_repeat": self.calls, "repeats": len(self.per_step)}
