"""jax.jit for the comparison harness, with XLA's CPU optimisation passes off: compiling dominates."""

from __future__ import annotations

import functools

import jax

# A comparison runs each translated step a few hundred times on a dozen
# numbers, so compiling it costs ~100x more than running it. Without LLVM's
# optimisation passes and the fusion emitters XLA compiles 2.5x faster; the
# arithmetic is the same IEEE operations, so the numbers are the same up to
# the contraction of a*b+c into one FMA (an ulp), far below every bound.
_FAST = {"xla_backend_optimization_level": 0, "xla_cpu_use_fusion_emitters": False}


@functools.cache
def _options() -> dict | None:
    """The fast options if this XLA knows them; None (the defaults) otherwise."""
    try:
        jax.jit(lambda x: x + 1, compiler_options=_FAST)(0).block_until_ready()
    except jax.errors.JaxRuntimeError:
        return None
    return _FAST


def fast_jit(fn, **kwargs):
    """``jax.jit(fn, **kwargs)``, compiled with the fast options where available."""
    return jax.jit(fn, compiler_options=_options(), **kwargs)
