"""PyTorch's own optimizer test configurations (``optim_db``), as torch itself runs them on the CPU."""

from __future__ import annotations

import functools
import importlib.util
import sys
import types
from pathlib import Path
from typing import Any, NamedTuple

import torch

# common_optimizers imports these test-harness modules only for decorators that
# skip or loosen tests (tol, toleranceOverride, DecorateInfo, skipIf...). Their
# real import pulls in torch's whole OpInfo database, dynamo and inductor
# (6 s of CPU) and needs the `expecttest` package; inert stand-ins are
# installed for the duration of the import only, and sys.modules is restored.
_HARNESS = (
    "torch.testing._internal.common_device_type",
    "torch.testing._internal.common_methods_invocations",
    "torch.testing._internal.common_utils",
)


class _Inert:
    """Accepts any construction or call and returns itself: a decorator that does nothing."""

    def __init__(self, *args, **kwargs):
        pass

    def __call__(self, *args, **kwargs):
        return self


def _stand_in(name: str) -> types.ModuleType:
    module = types.ModuleType(name)
    module.tol = module.toleranceOverride = module.DecorateInfo = _Inert
    module.skipIfMPS = module.skipIfTorchDynamo = _Inert()
    module._TestParametrizer = type("_TestParametrizer", (), {})
    module.TEST_WITH_TORCHDYNAMO = False  # its value without PYTORCH_TEST_WITH_DYNAMO
    return module


@functools.cache
def _common_optimizers() -> types.ModuleType:
    import torch.testing._internal as internal

    path = Path(internal.__file__).parent / "common_optimizers.py"
    spec = importlib.util.spec_from_file_location("_equivalence_torch_optim_db", path)
    module = importlib.util.module_from_spec(spec)
    saved = {name: sys.modules.get(name) for name in _HARNESS}
    try:
        for name in _HARNESS:
            if saved[name] is None:
                sys.modules[name] = _stand_in(name)
        spec.loader.exec_module(module)
    finally:
        for name, old in saved.items():
            if old is None:
                sys.modules.pop(name, None)
    return module


class SuiteConfig(NamedTuple):
    """One optimizer configuration of torch's suite, as torch would construct it on the CPU."""

    optimizer: str  # class name
    desc: str  # torch's description, e.g. "maximize, weight_decay & foreach"
    impl: str  # "plain", "foreach" or "fused": the implementation flag set True
    cls: type
    kwargs: dict[str, Any]
    base: str  # desc without the implementation flag: configs sharing it share the arithmetic


def _impls(info) -> tuple[str, ...]:
    """The implementation flags torch can run on the CPU for this optimizer.

    ``foreach`` runs on the CPU (torch's multi-tensor path over its
    ``_foreach_*`` ops), although torch's own helper lists foreach kernels only
    for CUDA/XPU; ``fused`` where ``supports_fused_on`` includes the CPU.
    ``differentiable=True`` makes step() part of the autograd graph, which torch
    refuses on leaf parameters that require grad (every training loop), so it
    is not run.
    """
    return tuple(
        flag
        for flag in info.supported_impls
        if flag == "foreach" or (flag == "fused" and "cpu" in info.supports_fused_on)
    )


def suite_configs() -> list[SuiteConfig]:
    """Every configuration of torch's ``optim_db`` for the CPU, plain and with each impl flag.

    This follows torch's ``_get_optim_inputs_including_global_cliquey_kwargs``:
    the plain configuration has every supported flag False, and each flag gets
    one configuration of its own with it True.
    """
    module = _common_optimizers()
    out = []
    for info in module.optim_db:
        name, impls = info.optim_cls.__name__, _impls(info)
        for oi in info.optim_inputs_func(device="cpu"):
            plain = {**oi.kwargs, **{flag: False for flag in impls}}
            out.append(SuiteConfig(name, oi.desc, "plain", info.optim_cls, plain, oi.desc))
            for flag in impls:
                kwargs = {**plain, flag: True}
                out.append(SuiteConfig(name, f"{oi.desc} & {flag}", flag, info.optim_cls, kwargs, oi.desc))
    return out
