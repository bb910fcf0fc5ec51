"""Read a torch.optim optimizer (and scheduler) and build the Optax transformation that matches it."""

from __future__ import annotations

from typing import Any, Callable

import optax
import torch
from torch.optim.lr_scheduler import ReduceLROnPlateau

from .adafactor import torch_adafactor
from .adam_family import torch_adam, torch_adamax, torch_nadam, torch_radam
from .asgd import torch_asgd
from .errors import UnsupportedError
from .groups import Group, check_fresh, settings, torch_scalar_dtype
from .schedules import GroupSchedules, group_schedules
from .plateau import check_plateau, torch_reduce_on_plateau
from .rprop import torch_rprop
from .transforms import torch_adagrad, torch_momentum

def _assemble(g: Group, core: list, lr, *, decoupled: bool = False) -> optax.GradientTransformation:
    """maximize -> (L2 decay) -> core -> (decoupled decay) -> -lr, torch's order of operations.

    Torch negates the gradient first, then adds ``weight_decay * param`` (L2,
    "coupled"), so with ``maximize`` the decay still pulls towards zero.
    Decoupled decay (AdamW) is ``param *= 1 - lr * weight_decay``, i.e. a
    ``weight_decay * param`` term added after the core and scaled by the same
    (scheduled) lr: exactly ``optax.add_decayed_weights`` before
    ``optax.scale_by_learning_rate``.
    """
    wd = g.f("weight_decay")
    parts = [optax.scale(-1.0)] if g.b("maximize") else []
    if wd != 0 and not decoupled:
        parts.append(optax.add_decayed_weights(wd))
    parts += core
    if wd != 0 and decoupled:
        parts.append(optax.add_decayed_weights(wd))
    parts.append(optax.scale_by_learning_rate(lr))
    return optax.chain(*parts)


def _sgd(g, lr, momentum_schedule):
    m = momentum_schedule if momentum_schedule is not None else g.f("momentum")
    dampening, nesterov = g.f("dampening"), g.b("nesterov")
    if callable(m) or (m != 0 and dampening != 0):
        core = [torch_momentum(m, dampening, nesterov)]
    elif m != 0:
        # Torch's first step copies the gradient into the buffer; optax.trace
        # starts from zeros and computes g + m * 0 = g: identical.
        core = [optax.trace(decay=m, nesterov=nesterov)]
    else:
        core = []
    return _assemble(g, core, lr)


def _adam(g, lr, beta1_schedule):
    b1, b2 = g.betas()
    b1 = beta1_schedule if beta1_schedule is not None else b1
    eps, amsgrad = g.f("eps"), g.b("amsgrad")
    if amsgrad or callable(b1):
        core = [torch_adam(b1, b2, eps, amsgrad)]
    else:
        core = [optax.scale_by_adam(b1=b1, b2=b2, eps=eps, eps_root=0.0)]
    return _assemble(g, core, lr, decoupled=g.b("decoupled_weight_decay"))


def _adagrad(g, lr, _):
    core = [torch_adagrad(g.f("initial_accumulator_value"), g.f("eps"), g.f("lr_decay"))]
    return _assemble(g, core, lr)


def _rmsprop(g, lr, momentum_schedule):
    alpha, eps = g.f("alpha"), g.f("eps")
    scale = optax.scale_by_stddev if g.b("centered") else optax.scale_by_rms
    # Torch adds eps outside the square root; Optax's default is inside.
    core = [scale(decay=alpha, eps=eps, eps_in_sqrt=False)]
    m = momentum_schedule if momentum_schedule is not None else g.f("momentum")
    if callable(m):
        core.append(torch_momentum(m, positive_only=True))
    elif m > 0:
        # The buffer accumulates g / avg *before* the lr (optax.rmsprop puts
        # the lr inside the trace, which differs once the lr is scheduled).
        core.append(optax.trace(decay=m))
    return _assemble(g, core, lr)


def _adamax(g, lr, beta1_schedule):
    b1, b2 = g.betas()
    if beta1_schedule is not None:
        core = [torch_adamax(beta1_schedule, b2, g.f("eps"))]
    else:
        core = [optax.scale_by_adamax(b1=b1, b2=b2, eps=g.f("eps"))]
    return _assemble(g, core, lr)


def _nadam(g, lr, beta1_schedule):
    b1, b2 = g.betas()
    b1 = beta1_schedule if beta1_schedule is not None else b1
    core = [torch_nadam(b1, b2, g.f("eps"), g.f("momentum_decay"), torch_scalar_dtype())]
    return _assemble(g, core, lr, decoupled=g.b("decoupled_weight_decay"))


def _radam(g, lr, beta1_schedule):
    b1, b2 = g.betas()
    b1 = beta1_schedule if beta1_schedule is not None else b1
    core = [torch_radam(b1, b2, g.f("eps"))]
    return _assemble(g, core, lr, decoupled=g.b("decoupled_weight_decay"))


def _adadelta(g, lr, _):
    return _assemble(g, [optax.scale_by_adadelta(rho=g.f("rho"), eps=g.f("eps"))], lr)


def _negate_if_maximizing(g, core) -> optax.GradientTransformation:
    return optax.chain(*([optax.scale(-1.0)] if g.b("maximize") else []), core)


def _rprop(g, lr, _):
    # Torch reads group["lr"] once, for the initial step sizes, at the first step.
    return _negate_if_maximizing(g, torch_rprop(g.f("lr"), g.pair("etas"), g.pair("step_sizes")))


def _asgd(g, lr, _):
    foreach = g.group.get("foreach")
    on_gpu = any(p.device.type != "cpu" for p in g.group["params"])
    if foreach or (foreach is None and on_gpu):  # torch's default on CUDA is the multi-tensor path
        raise UnsupportedError(
            "ASGD with foreach=True (torch's default on CUDA) steps p - eta * (g + lambd * p) and always averages "
            "ax + mu * (p - ax), rounding apart from the single-tensor path that is translated: pass foreach=False.")
    core = torch_asgd(lr, g.f("lambd"), g.f("alpha"), g.f("t0"), g.f("weight_decay"), torch_scalar_dtype())
    return _negate_if_maximizing(g, core)


def _adafactor(g, lr, _):
    eps1, eps2 = g.group["eps"]
    eps1 = None if eps1 is None else float(eps1)
    core = torch_adafactor(lr, g.f("beta2_decay"), eps1, float(eps2), g.f("d"), g.f("weight_decay"))
    return _negate_if_maximizing(g, core)


_ADAM_OPTIONS = ("lr", "betas", "eps", "weight_decay", "amsgrad", "maximize", "decoupled_weight_decay")
_BUILDERS: dict[type, tuple[tuple[str, ...], Callable]] = {
    torch.optim.SGD: (("lr", "momentum", "dampening", "weight_decay", "nesterov", "maximize"), _sgd),
    torch.optim.Adam: (_ADAM_OPTIONS, _adam),
    torch.optim.AdamW: (_ADAM_OPTIONS, _adam),
    torch.optim.Adagrad: (
        ("lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps", "maximize"),
        _adagrad,
    ),
    torch.optim.RMSprop: (
        ("lr", "alpha", "eps", "weight_decay", "momentum", "centered", "maximize"),
        _rmsprop,
    ),
    torch.optim.Adamax: (("lr", "betas", "eps", "weight_decay", "maximize"), _adamax),
    torch.optim.NAdam: (
        ("lr", "betas", "eps", "weight_decay", "momentum_decay", "decoupled_weight_decay", "maximize"),
        _nadam,
    ),
    torch.optim.RAdam: (
        ("lr", "betas", "eps", "weight_decay", "decoupled_weight_decay", "maximize"),
        _radam,
    ),
    torch.optim.Adadelta: (("lr", "rho", "eps", "weight_decay", "maximize"), _adadelta),
    torch.optim.Rprop: (("lr", "etas", "step_sizes", "maximize"), _rprop),
    torch.optim.ASGD: (("lr", "lambd", "alpha", "t0", "weight_decay", "maximize"), _asgd),
    torch.optim.Adafactor: (("lr", "beta2_decay", "eps", "d", "weight_decay", "maximize"), _adafactor),
}
# Optimizers torch runs that have no step-for-step translation, and why (docs/translate.md).
_REFUSED = {
    torch.optim.LBFGS: "LBFGS re-evaluates a closure several times per step (max_iter, a line search, "
    "tolerance-based early exits), so one Optax update per gradient cannot follow it step for step; "
    "use optax.lbfgs and compare losses, not trajectories",
    torch.optim.SparseAdam: "SparseAdam only accepts sparse gradients and updates just the entries they "
    "list; a dense JAX gradient does not say which entries those are",
    torch.optim.Muon: "Muon orthogonalises each update with Newton-Schulz iterations in bfloat16, whose "
    "rounding (accumulation order of torch's and XLA's bfloat16 matmuls) differs by ~1e-3, far above the "
    "1e-10 bound",
}


def optimizer(
    torch_optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler | None = None,
    *,
    param_labels: Any = None,
) -> optax.GradientTransformation:
    """The Optax transformation whose updates match ``torch_optimizer.step()``.

    Args:
        torch_optimizer: a freshly constructed SGD, Adam, AdamW, Adagrad,
            RMSprop, Adamax, NAdam, RAdam, Adadelta, Rprop, ASGD or Adafactor
            (exact class, not a subclass). Hyper-parameters are read from its ``param_groups``.
        scheduler: the scheduler attached to it, if any; the learning rate
            becomes an Optax schedule with torch's counting (``scheduler.step()``
            once after every ``optimizer.step()``).
        param_labels: needed when the param groups differ: a pytree shaped
            like the JAX params (or a function of them) whose leaves are group
            indices ``0..len(param_groups)-1``; the result is an
            ``optax.multi_transform``.

    Raises:
        UnsupportedError: naming the class or option that cannot be matched.
    """
    cls = type(torch_optimizer)
    if cls in _REFUSED:
        raise UnsupportedError(f"{cls.__name__} cannot be translated exactly: {_REFUSED[cls]}.")
    if cls not in _BUILDERS:
        supported = ", ".join(c.__name__ for c in _BUILDERS)
        raise UnsupportedError(
            f"{cls.__name__} is not a supported optimizer (supported, exact classes only: {supported}); "
            "subclasses are refused because they may override step()."
        )
    check_fresh(torch_optimizer)
    groups = torch_optimizer.param_groups
    attached = hasattr(torch_optimizer.step, "_wrapped_by_lr_sched") or any("initial_lr" in g for g in groups)
    if scheduler is None and attached:
        raise UnsupportedError(
            f"{cls.__name__} has an LR scheduler attached (its step() is wrapped or its groups hold "
            "'initial_lr'); pass that scheduler as scheduler=... so the learning rate is not frozen."
        )
    plateau = None
    if type(scheduler) is ReduceLROnPlateau:
        if cls in (torch.optim.Rprop, torch.optim.ASGD, torch.optim.Adafactor):
            raise UnsupportedError(
                f"ReduceLROnPlateau with {cls.__name__}: its lr does not scale the update linearly "
                "(or is read once), so the plateau's lr cannot be applied afterwards."
            )
        check_plateau(scheduler, torch_optimizer)
        plateau = torch_reduce_on_plateau(scheduler)
        # lr 1 here; the plateau transformation multiplies by torch's current lr.
        per_group = [GroupSchedules(1.0, None) for _ in groups]
    elif scheduler is not None:
        per_group = group_schedules(scheduler, torch_optimizer)
    else:
        per_group = [GroupSchedules(float(g["lr"]), None) for g in groups]

    options, build = _BUILDERS[cls]
    txs = [build(Group(torch_optimizer, i, options), s.lr, s.momentum) for i, s in enumerate(per_group)]
    if plateau is not None:
        txs = [optax.chain(tx, plateau) for tx in txs]
    if param_labels is not None:
        return optax.multi_transform(dict(enumerate(txs)), param_labels)
    if len(txs) == 1:
        return txs[0]
    first = settings(groups[0])
    for i, group in enumerate(groups[1:], start=1):
        other = settings(group)
        differing = sorted(k for k in first.keys() | other.keys() if first.get(k) != other.get(k))
        if differing:
            raise UnsupportedError(
                f"{cls.__name__} param_groups[{i}] differs from param_groups[0] in {differing[0]!r}; "
                f"pass param_labels=... (leaves: group indices 0..{len(groups) - 1}) to get an "
                "optax.multi_transform."
            )
    return txs[0]  # identical groups behave as one
