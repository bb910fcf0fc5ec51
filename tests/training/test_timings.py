"""A run's seconds land in the bucket of what spent them: building in build_s, forward passes in eval_s."""

import time

from training import timings


class SlowBackend:
    framework = "fake"

    def build(self, state):
        time.sleep(0.02)
        return {"built": state}

    def loss(self, trainer, x, y):
        time.sleep(0.01)
        return 1.0

    def export(self, trainer):
        return trainer


def test_build_and_forward_passes_are_timed_and_the_after_build_hook_runs_once():
    spent, calls = {}, []
    timed = timings.Timed(SlowBackend(), spent, lambda: calls.append(spent["build_s"]))
    assert timed.build(1) == {"built": 1} and timed.build(2) == {"built": 2}
    assert len(calls) == 1 and calls[0] >= 0.02  # after the first build, with its seconds already counted
    assert spent["build_s"] >= 0.04
    assert timed.loss(None, None, None) == 1.0 and spent["eval_s"] >= 0.01
    assert timed.export({"w": 1}) == {"w": 1} and timed.framework == "fake"  # the rest passes through untimed
    assert set(spent) == {"build_s", "eval_s"}


def test_the_table_has_every_key_and_takes_compile_and_train_from_the_metrics():
    started = time.perf_counter()
    table = timings.table({"imports_s": 1.0, "build_s": 0.5}, {"compile_s": 0.25, "train_s": None}, started)
    assert list(table) == list(timings.KEYS)
    assert table["build_s"] == 0.5 and table["compile_s"] == 0.25 and table["train_s"] == 0.0
    assert table["total_s"] >= 0
