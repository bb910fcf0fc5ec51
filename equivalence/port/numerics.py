"""The arithmetic of a check, switched on only inside it: float64 (JAX x64) or float32 at full matmul precision."""

from __future__ import annotations

import contextlib

import jax
import torch

DTYPES = ("float64", "float32")

# x64 as a context, scoped to the check's thread: jax.enable_x64 (JAX >= 0.8); older JAX has it under
# jax.experimental
if hasattr(jax, "enable_x64"):
    _x64 = jax.enable_x64
else:  # pragma: no cover
    from jax.experimental import enable_x64 as _x64


@contextlib.contextmanager
def numerics(dtype: str):
    """JAX x64 for float64, matmul precision 'highest', torch TF32 off; every flag restored on exit.

    Torch's default dtype is float64 inside a float64 check, because optimizers keep scalar state
    (NAdam's mu_product, Adam's step on some paths) in the default dtype.
    """
    saved = (torch.get_default_dtype(), torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32,
             torch.get_float32_matmul_precision(), torch.is_grad_enabled(), torch.get_num_threads())
    try:
        # a check's tensors are small: one thread, not a pool spinning against the other jobs on the machine
        torch.set_num_threads(1)
        torch.set_default_dtype(torch.float64 if dtype == "float64" else torch.float32)
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        torch.set_float32_matmul_precision("highest")
        with _x64(dtype == "float64"), jax.default_matmul_precision("highest"):
            yield
    finally:
        torch.set_default_dtype(saved[0])
        torch.backends.cuda.matmul.allow_tf32 = saved[1]
        torch.backends.cudnn.allow_tf32 = saved[2]
        torch.set_float32_matmul_precision(saved[3])
        torch.set_grad_enabled(saved[4])
        torch.set_num_threads(saved[5])


def global_flags() -> tuple:
    """Everything a check could touch, for tests that prove it is left as it was."""
    return (torch.get_default_dtype(), torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32,
            torch.get_float32_matmul_precision(), torch.is_grad_enabled(), bool(jax.config.jax_enable_x64),
            jax.config.jax_default_matmul_precision)
