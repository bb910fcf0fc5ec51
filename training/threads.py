"""Threads: the frameworks' CPU thread counts, set before they load, and the thread that loads matplotlib."""

from __future__ import annotations

import os
import threading

from training import config


def set_threads(threads: int | None, framework: str, environ=os.environ) -> None:
    """CPU threads for the framework about to load: both read these once, when they start.

    Without --threads an OMP_NUM_THREADS the user set is kept; else config.DEFAULT_THREADS applies.
    """
    if threads is None and "OMP_NUM_THREADS" in environ:
        threads = int(environ["OMP_NUM_THREADS"]) if environ["OMP_NUM_THREADS"].isdigit() else None
    n = config.DEFAULT_THREADS if threads is None else threads
    if framework == "torch":
        environ["OMP_NUM_THREADS"] = environ["MKL_NUM_THREADS"] = str(n)  # torch's intra-op pool size
    flags = environ.get("XLA_FLAGS", "")
    if framework == "jax" and n == 1 and "xla_cpu_multi_thread_eigen" not in flags:
        environ["XLA_FLAGS"] = (flags + " --xla_cpu_multi_thread_eigen=false").strip()


def load_matplotlib_meanwhile() -> None:
    """Import matplotlib on a second thread once the model is built, while XLA compiles and the scan trains: both let
    go of the GIL, so on a second core the ~0.4 s import is over by the time the figures are drawn. Not beside
    torch's eager loop, whose small steps hold the GIL: there the import only moved into train_s (the lecture's
    problem: 2.26 -> 2.6 s, its steps/s understated by 13 %), so torch's figures_s pays it."""
    def load() -> None:
        try:
            from training import plots

            plots.load()
        except Exception:  # the drawing itself says what is wrong, on the main thread
            pass

    threading.Thread(target=load, name="load-matplotlib", daemon=True).start()
