"""ChainedScheduler of multiplicative schedulers: the product of each one's factors, step by step."""

from __future__ import annotations

import torch.optim.lr_scheduler as sched

from .errors import UnsupportedError

# Schedulers whose step is ``group["lr"] * factor(epoch)``: chained, their factors multiply.
MULTIPLICATIVE = (
    sched.StepLR, sched.MultiStepLR, sched.ExponentialLR, sched.ConstantLR, sched.LinearLR, sched.PolynomialLR
)


def chained(s, i, lr_now, segments):
    """``lr_now * prod_j segment_j(k)``, each segment started from 1.0.

    ChainedScheduler steps each scheduler in turn on the lr the previous one
    left; for multiplicative ones the order does not change the product, only
    its rounding (an ulp per step). Schedulers that set the lr from a closed
    form (Cosine, OneCycle, Cyclic, WarmRestarts) would overwrite their
    predecessors, and are refused.
    """
    parts = []
    for j, sub in enumerate(s._schedulers):
        if type(sub) not in MULTIPLICATIVE:
            names = ", ".join(c.__name__ for c in MULTIPLICATIVE)
            raise UnsupportedError(
                f"ChainedScheduler schedulers[{j}] is {type(sub).__name__}; only multiplicative schedulers "
                f"({names}) are chained exactly."
            )
        if sub.last_epoch != 0 or sub.optimizer is not s.optimizer:
            raise UnsupportedError(
                f"ChainedScheduler schedulers[{j}] has been stepped or belongs to another optimizer; "
                "translate a freshly constructed chain."
            )
        parts.append(segments[type(sub)](sub, i, 1.0))

    def lr(k):
        out = lr_now
        for part in parts:
            out = out * part(k)
        return out

    return lr
