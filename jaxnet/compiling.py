"""What XLA compiles during a run: the persistent cache that spares a second run its compilations, and a count.

A run reads and fills a per-user cache folder (JAXNET_CACHE_DIR, else $XDG_CACHE_HOME/jaxnet/xla, else
~/.cache/jaxnet/xla), so the same command run again loads its programs instead of compiling them. The flags
are set for the run only: a notebook or a test that calls a run in-process gets its own settings back.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import jax
from jax.experimental.compilation_cache import compilation_cache

# jax's monitoring events (jax/_src/dispatch.py, jax/_src/compiler.py). The backend event fires for every
# executable a jit call needs, compiled or loaded from the persistent cache; a load also fires the hit event.
BACKEND_COMPILE = "/jax/core/compile/backend_compile_duration"
CACHE_HIT = "/jax/compilation_cache/cache_hits"
# XLA options that make a CPU compile faster: the classic fusion emitters instead of the MLIR ones, and no LLVM
# optimisation passes. A program run a few times (an evaluation, a check of a dozen numbers) spends more compiling
# than running (measured: 2.1 -> 0.9 s for the digits mlp's three evaluation programs). They are the same IEEE
# operations, but for the contraction of a*b+c into one FMA (an ulp). They are XLA's private debug options: a jaxlib
# may drop one (0.12 has no xla_cpu_use_fusion_emitters), so each is tried before use and left out if unknown.
FAST_CPU_OPTIONS = {"xla_backend_optimization_level": 0, "xla_cpu_use_fusion_emitters": False,
                    "xla_llvm_disable_expensive_passes": True}
FLAGS = ("jax_enable_compilation_cache", "jax_compilation_cache_dir",
         "jax_persistent_cache_min_compile_time_secs", "jax_persistent_cache_min_entry_size_bytes")


@functools.cache
def fast_options() -> dict:
    """Those of FAST_CPU_OPTIONS the running XLA accepts, each tried on a one-operation CPU program."""
    try:
        x = jax.device_put(0.0, jax.devices("cpu")[0])
    except RuntimeError:  # JAX_PLATFORMS without the CPU: XLA's defaults, nothing to try
        return {}
    accepted = {}
    for name, value in FAST_CPU_OPTIONS.items():
        try:
            jax.jit(lambda v: v + 1).lower(x).compile({name: value})
        except Exception:  # noqa: BLE001  jaxlib raises JaxRuntimeError or ValueError for an unknown option
            continue
        accepted[name] = value
    return accepted


def fast_jit(fn, **kwargs):
    """`jax.jit(fn, **kwargs)` compiled with the fast options this XLA accepts (see FAST_CPU_OPTIONS); on the CPU
    only, since the options name XLA's CPU backend."""
    return jax.jit(fn, compiler_options=fast_options() or None, **kwargs)


def cache_dir(environ=os.environ) -> Path:
    """The folder of the persistent cache: JAXNET_CACHE_DIR, else the user's cache folder."""
    if environ.get("JAXNET_CACHE_DIR"):
        return Path(environ["JAXNET_CACHE_DIR"]).expanduser()
    base = environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "jaxnet" / "xla"


def usable(folder: Path, prog: str) -> Path | None:
    """`folder`, created if need be; None (and one line on stderr) when it cannot be written: the run goes on."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        if os.access(folder, os.W_OK):
            return folder
        reason = "not writable"
    except OSError as err:
        reason = err.strerror or str(err)
    sys.stderr.write(f"{prog}: warning: compilation cache {folder} unusable ({reason}); compiling without it "
                     f"(set JAXNET_CACHE_DIR to a writable folder, or pass --no-cache)\n")
    return None


@contextlib.contextmanager
def persistent_cache(folder: Path | None) -> Iterator[None]:
    """Load and store compiled programs in `folder` until the block ends (None: no cache at all)."""
    old = {name: getattr(jax.config, name) for name in FLAGS}
    new = {"jax_enable_compilation_cache": folder is not None}
    if folder is not None:  # every program, however small or quick: a CLI run compiles only a handful
        new |= {"jax_compilation_cache_dir": str(folder), "jax_persistent_cache_min_compile_time_secs": 0.0,
                "jax_persistent_cache_min_entry_size_bytes": -1}
    # jax opens its cache once per process, at the first compilation: reset so these settings take effect,
    # and again on the way out so the caller's own settings do.
    compilation_cache.reset_cache()
    try:
        for name, value in new.items():
            jax.config.update(name, value)
        yield
    finally:
        for name, value in old.items():
            jax.config.update(name, value)
        compilation_cache.reset_cache()


class Count:
    """Programs XLA compiled (`compiled`) and loaded from the persistent cache (`loaded`) while open."""

    def __init__(self):
        self.compiled = self.loaded = 0
        self.seconds = 0.0

    def _backend(self, event: str, duration: float, **kwargs) -> None:
        if event == BACKEND_COMPILE:
            self.compiled += 1
            self.seconds += duration

    def _event(self, event: str, **kwargs) -> None:
        if event == CACHE_HIT:  # counted by _backend too: a load is not a compilation
            self.compiled -= 1
            self.loaded += 1

    def __enter__(self) -> Count:
        jax.monitoring.register_event_duration_secs_listener(self._backend)
        jax.monitoring.register_event_listener(self._event)
        return self

    def __exit__(self, *exc) -> None:
        jax.monitoring.unregister_event_duration_listener(self._backend)
        jax.monitoring.unregister_event_listener(self._event)
