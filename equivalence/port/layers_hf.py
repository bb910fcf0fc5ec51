"""Built-in rules for Hugging Face pieces: GPT-2's Conv1D, RMSNorm-like classes (LlamaRMSNorm, T5LayerNorm...)."""

from __future__ import annotations

from flax import nnx
from torch import nn

from .rules import Rule, register

# Classes that scale by (1 + weight) store a zero-centred weight: nnx.RMSNorm's scale would be wrong.
ONE_PLUS_WEIGHT = ("Gemma", "Qwen3Next", "OLMo2")


def eps_of(module) -> float | None:
    """A norm's epsilon under any of the names torch and HF use."""
    for name in ("eps", "variance_epsilon", "layer_norm_eps", "epsilon"):
        value = getattr(module, name, None)
        if isinstance(value, (int, float)):
            return float(value)
    return None


def is_rmsnorm_like(module) -> bool:
    """An HF RMSNorm: one `weight` vector, an epsilon, a class named *RMSNorm or T5LayerNorm-like."""
    name = type(module).__name__
    own = dict(module.named_parameters(recurse=False))
    return (isinstance(module, nn.Module) and not isinstance(module, (nn.LayerNorm, nn.RMSNorm))
            and (name.endswith("RMSNorm") or name in ("T5LayerNorm", "LongT5LayerNorm", "MT5LayerNorm"))
            and not name.startswith(ONE_PLUS_WEIGHT) and set(own) == {"weight"} and own["weight"].ndim == 1
            and eps_of(module) is not None and not list(module.children()))


def _scale_to_nnx(m, t):
    return {"scale": t["weight"]}


def _scale_to_torch(m, a):
    return {"weight": a["scale"]}


def _conv1d_to_nnx(m, t):
    # GPT-2's Conv1D stores (in, out): the kernel as it is
    out = {"kernel": t["weight"]}
    if t.get("bias") is not None:
        out["bias"] = t["bias"]
    return out


def _conv1d_to_torch(m, a):
    out = {"weight": a["kernel"]}
    if a.get("bias") is not None:
        out["bias"] = a["bias"]
    return out


def _is_conv1d(module) -> bool:
    return type(module).__name__ == "Conv1D" and hasattr(module, "nf") and hasattr(module, "nx")


BUILTIN = [
    Rule("RMSNorm (HF)", (nn.Module,), (nnx.RMSNorm,), _scale_to_nnx, _scale_to_torch, accepts=is_rmsnorm_like),
    Rule("Conv1D (HF)", (nn.Module,), (nnx.Linear, nnx.LinearGeneral, nnx.Einsum), _conv1d_to_nnx, _conv1d_to_torch,
         accepts=_is_conv1d, reshape=True),
]
for _rule in reversed(BUILTIN):
    register(_rule)
