"""Where JAX arrays live, whether float64 exists, and how float32 matmuls round: all pinned here."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import jax
import numpy as np

from netdata.errors import InputError


def resolve(device: str = "cpu") -> jax.Device:
    """'cpu' or 'gpu' (the first GPU); 'gpu' without one is a user error, not a crash."""
    if device not in ("cpu", "gpu"):
        raise InputError(f"unknown device {device!r}; use cpu or gpu")
    try:
        return jax.local_devices(backend=device)[0]  # this process's first: in a multi-process run, not process 0's
    except RuntimeError:
        raise InputError("--device gpu: JAX sees no GPU here (is jax[cuda] installed?); use --device cpu") from None


@contextlib.contextmanager
def context(device: str = "cpu", dtype: str = "float32", precision: str = "highest") -> Iterator[jax.Device]:
    """Run JAX code on `device`, with x64 only for float64, and matmul precision pinned.

    'highest' gives true float32 matmuls everywhere. 'default' lets XLA pick, which on NVIDIA
    GPUs means TF32 (10-bit mantissa) for float32: a real numerical difference, not noise.
    Everything is undone on exit, so x64 never leaks into code that did not ask for it.
    """
    dev = resolve(device)
    with contextlib.ExitStack() as stack:
        stack.enter_context(jax.enable_x64(dtype == "float64"))
        stack.enter_context(jax.default_device(dev))
        if precision == "highest":
            stack.enter_context(jax.default_matmul_precision("highest"))
        yield dev


def array(a: np.ndarray, device: jax.Device | str | None = None) -> jax.Array:
    """A NumPy array as a JAX array, refusing to silently truncate float64 to float32."""
    if a.dtype == np.float64 and not jax.config.jax_enable_x64:
        raise RuntimeError("float64 arrays need x64: run inside jaxnet.device.context(dtype='float64')")
    dev = resolve(device) if isinstance(device, str) else device
    # device_put, not jnp.asarray: in jax 0.10 that compiles a one-operation program for every new shape.
    return jax.device_put(a if isinstance(a, jax.Array) else np.asarray(a), dev)


def gathered(rows: np.ndarray, idx: np.ndarray, dtype, labels: bool = False) -> np.ndarray:
    """rows[idx] on the host, shape (*idx.shape, *row), in `dtype`; with `labels`, integer class labels stay integers
    (int32 without x64, as jnp.asarray would make them). np.take, not rows[idx]: on a memmap fancy indexing is 5-7x
    slower for millions of rows."""
    kind = jax.dtypes.canonicalize_dtype(rows.dtype) if labels and rows.dtype.kind in "iu" else np.dtype(dtype)
    return np.take(rows, idx.ravel(), axis=0).astype(kind, copy=False).reshape(*idx.shape, *rows.shape[1:])


def numpy(a: jax.Array) -> np.ndarray:
    return np.asarray(a)
