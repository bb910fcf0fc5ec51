"""Read a torch.optim optimizer (and scheduler) and build the Optax transformation that matches it."""

from __future__ import annotations

from typing import Any, Callable

import optax
import torch

from .adam_family import torch_adam, torch_adamax, torch_nadam, torch_radam
from .errors import UnsupportedError
from .schedules import GroupSchedules, group_schedules
from .transforms import torch_adagrad, torch_momentum

# Flags that choose an implementation (loop, multi-tensor, fused kernel, CUDA
# graphs, autograd-through-step) but not the arithmetic: accepted, ignored.
_NEUTRAL = frozenset({"foreach", "fused", "capturable", "differentiable"})
# Keys torch itself adds to a group: the parameters, their names, and what
# schedulers store (initial_lr; OneCycleLR's lr and momentum bounds).
_BOOKKEEPING = frozenset(
    {"params", "param_names", "initial_lr", "max_lr", "min_lr", "max_momentum", "base_momentum"}
)


class _Group:
    """Typed read access to one ``param_groups[i]``, naming the option on failure."""

    def __init__(self, optimizer, index: int, options: tuple[str, ...]):
        self.name = type(optimizer).__name__
        self.group = optimizer.param_groups[index]
        unknown = sorted(set(self.group) - set(options) - _NEUTRAL - _BOOKKEEPING)
        if unknown:
            raise UnsupportedError(
                f"{self.name} param_groups[{index}] has option {unknown[0]!r}, which the translator "
                f"does not know, so it cannot promise the same update; remove it or translate by hand."
            )
        missing = [k for k in options if k not in self.group]
        if missing:
            raise UnsupportedError(
                f"{self.name} param_groups[{index}] lacks option {missing[0]!r} "
                "(an optimizer from another torch version?); construct it with this torch."
            )

    def f(self, key: str) -> float:
        return float(self.group[key])

    def b(self, key: str) -> bool:
        return bool(self.group[key])

    def betas(self) -> tuple[float, float]:
        b1, b2 = self.group["betas"]
        return float(b1), float(b2)


def torch_scalar_dtype() -> str:
    """The dtype torch gives scalar optimizer state (``_get_scalar_dtype``), read at translation time.

    float64 only when torch's default dtype is float64; otherwise float32, even
    for float64 parameters. NAdam's ``mu_product`` and ASGD's ``eta`` and
    ``mu`` live in it, so the translation must round where torch rounds.
    """
    return "float64" if torch.get_default_dtype() == torch.float64 else "float32"


def _assemble(g: _Group, core: list, lr, *, decoupled: bool = False) -> optax.GradientTransformation:
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
}


def _check_fresh(opt) -> None:
    """Refuse optimizers that already carry state the translation would start from zero."""
    for gi, group in enumerate(opt.param_groups):
        for p in group["params"]:
            if p.is_complex():
                raise UnsupportedError(
                    f"{type(opt).__name__} param_groups[{gi}] holds a complex parameter; torch updates "
                    "its real view, which this translation does not model. Split it into real parts."
                )
            state = opt.state.get(p)
            if not state:
                continue
            # Adagrad fills its state in __init__: step 0, sum = initial value.
            fresh_adagrad = (
                type(opt) is torch.optim.Adagrad
                and set(state) == {"step", "sum"}
                and float(state["step"]) == 0
                and bool(torch.all(state["sum"] == group["initial_accumulator_value"]))
            )
            if not fresh_adagrad:
                raise UnsupportedError(
                    f"{type(opt).__name__} already has state (keys {sorted(state)}): it has been stepped "
                    "or loaded from a state_dict. Translate a freshly constructed optimizer; the Optax "
                    "state starts from zero."
                )


def _canonical(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return value.tolist()
    if isinstance(value, (tuple, list)):
        return tuple(_canonical(v) for v in value)
    return value


def _settings(group: dict) -> dict:
    return {k: _canonical(v) for k, v in group.items() if k not in ("params", "param_names")}


def optimizer(
    torch_optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler | None = None,
    *,
    param_labels: Any = None,
) -> optax.GradientTransformation:
    """The Optax transformation whose updates match ``torch_optimizer.step()``.

    Args:
        torch_optimizer: a freshly constructed SGD, Adam, AdamW, Adagrad,
            RMSprop, Adamax, NAdam, RAdam or Adadelta (exact class, not a
            subclass). Hyper-parameters are read from its ``param_groups``.
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
    if cls not in _BUILDERS:
        supported = ", ".join(c.__name__ for c in _BUILDERS)
        raise UnsupportedError(
            f"{cls.__name__} is not a supported optimizer (supported, exact classes only: {supported}); "
            "subclasses are refused because they may override step()."
        )
    _check_fresh(torch_optimizer)
    groups = torch_optimizer.param_groups
    attached = hasattr(torch_optimizer.step, "_wrapped_by_lr_sched") or any("initial_lr" in g for g in groups)
    if scheduler is None and attached:
        raise UnsupportedError(
            f"{cls.__name__} has an LR scheduler attached (its step() is wrapped or its groups hold "
            "'initial_lr'); pass that scheduler as scheduler=... so the learning rate is not frozen."
        )
    if scheduler is not None:
        per_group = group_schedules(scheduler, torch_optimizer)
    else:
        per_group = [GroupSchedules(float(g["lr"]), None) for g in groups]

    options, build = _BUILDERS[cls]
    txs = [build(_Group(torch_optimizer, i, options), s.lr, s.momentum) for i, s in enumerate(per_group)]
    if param_labels is not None:
        return optax.multi_transform(dict(enumerate(txs)), param_labels)
    if len(txs) == 1:
        return txs[0]
    first = _settings(groups[0])
    for i, group in enumerate(groups[1:], start=1):
        other = _settings(group)
        differing = sorted(k for k in first.keys() | other.keys() if first.get(k) != other.get(k))
        if differing:
            raise UnsupportedError(
                f"{cls.__name__} param_groups[{i}] differs from param_groups[0] in {differing[0]!r}; "
                f"pass param_labels=... (leaves: group indices 0..{len(groups) - 1}) to get an "
                "optax.multi_transform."
            )
    return txs[0]  # identical groups behave as one
