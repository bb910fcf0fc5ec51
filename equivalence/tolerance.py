"""The one tolerance policy: how close two implementations must be, per dtype and matmul precision.

Metric: normwise relative error ||a - b|| / ||ref|| (ref = the float64 oracle's value), taken per
array and maximised over the arrays of a quantity; max |a - b| is reported beside it.

A training run is held to these tolerances only up to its chaos horizon (equivalence.lecture.horizon): the
step at which the float64 oracle, started one ulp away from itself, leaves the same tolerance. Adam
near a minimum or a ReLU input at 0 amplify any rounding, so past that step no two correct programs
can agree more closely than the oracle agrees with itself; there each side's loss must stay within
the spread of a few nudged oracle runs instead. At the lecture's lr 1e-6 the horizon is the whole
run; a bug still fails inside it, where the tolerance is never loosened.
"""

from __future__ import annotations

from typing import NamedTuple


class Tolerance(NamedTuple):
    rel: float
    why: str


TOLERANCES: dict[str, Tolerance] = {
    "float64": Tolerance(1e-12, "unit roundoff 1.1e-16, times the growth of 5000 steps of rounding"),
    "float32": Tolerance(1e-5, "unit roundoff 6e-8 (full float32 matmuls), times the same growth"),
    "tf32": Tolerance(1e-2, "float32 with TF32 matmuls (10-bit mantissa, roundoff 4.9e-4): JAX's default on NVIDIA GPUs"),
}


# A port (equivalence.port) that computes part of its work below the check's dtype (HF's RMSNorm in float32,
# a cast to bfloat16) is held, where it does so and only there, to the tolerance of that arithmetic, and
# the report names it. float32 is TOLERANCES["float32"]; the half-precision formats are here.
INTERNAL: dict[str, Tolerance] = {
    "bfloat16": Tolerance(3e-2, "unit roundoff 3.9e-3 (8-bit mantissa), times a few operations"),
    "float16": Tolerance(5e-3, "unit roundoff 4.9e-4 (11-bit mantissa), times a few operations"),
}


# The per-step defect (equivalence.lecture.defect), in units of the side's eps times the size of the state
# (||A[k+1]||) plus what a rounding of the gradient moves (the oracle's sensitivity of the step: Adam
# divides a gradient by its own size, so where the gradient is mostly rounding, rounding moves the
# update by up to ~lr). One step of Adam rounds ~12 times elementwise (moments: 2 products, a sum, the
# store; the update: 2 divisions, sqrt, +eps, product, difference, store), each <= 1/2 ulp of what it
# rounds; the gradient's sums over the batch (64) and the features (<= 16) round by <= sqrt(n) ulps of
# the sum of absolute values in practice (n ulps at worst), which the sensitivity scales. Both sides
# and the oracle's own store differ by <= 1/2 ulp each. Measured (lr 1e-6..3e-2, up to 20000 steps, seeds
# 0-2): <= 4.6 ulps for the linear stages and the mlp, <= 1.1 in float32; the cnn <= 0.9 in float32 and 10
# in float64 (JAX's BatchNorm running mean); a wrong formula is 1e3-1e13 ulps (tests/test_step_defects.py).
# The ulp the defect counts in, per mode: the machine epsilon of the arithmetic (TF32's 10-bit mantissa
# for a float32 state whose matmuls are TF32: its gradients round 2^13 times coarser than float32's).
EPS: dict[str, float] = {"float64": 2.0**-52, "float32": 2.0**-23, "tf32": 2.0**-10}
DEFECT_ULPS: dict[str, Tolerance] = {
    mode: Tolerance(64.0, "~12 elementwise roundings of 1/2 ulp, and the gradient's sums of 64 + 16 terms "
                          "(scaled by the step's sensitivity): 64 ulps holds them with room, a formula error is >= 1e3")
    for mode in ("float64", "float32", "tf32")
}


def mode(dtype: str, precision: str, device: str) -> str:
    """The key of TOLERANCES for one side: float32 matmuls become TF32 only on a GPU at 'default'."""
    if dtype == "float64":
        return "float64"
    return "tf32" if (device == "gpu" and precision == "default") else "float32"


def for_pair(*modes: str) -> Tolerance:
    """A pair is held to the looser of its two sides' tolerances: the coarser arithmetic bounds it."""
    return max((TOLERANCES[m] for m in modes), key=lambda t: t.rel)
