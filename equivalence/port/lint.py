"""Read both models' settings, before any number is computed, and name the known default mismatches (never crash)."""

from __future__ import annotations

import functools

from flax import nnx
from torch import nn

from . import layers, layers_hf
from .finding import Finding
from .layers_hf import eps_of
from .lint_functions import FUNCTIONAL, nnx_attribute
from .match import Pair, pair_models
from .names import compile_names, mapped


def _pairs2(seq) -> tuple:
    return tuple(tuple(int(v) for v in p) for p in seq)


def _norm_eps(p: Pair, t_eps, f_eps, out: list, option="eps/epsilon") -> None:
    if t_eps is None or f_eps != t_eps:
        out.append(Finding(p.torch_name, option, t_eps, f_eps,
                           f"{type(p.nnx_module).__name__}(..., epsilon={t_eps})" if t_eps is not None else
                           "give torch an explicit eps (None means finfo(dtype).eps) and flax the same epsilon"))


def _tuple(v, n: int) -> tuple:
    return tuple(v) if isinstance(v, (tuple, list)) else (v,) * n


def _conv_padding(t: nn.Module, f: nnx.Module, n: int, before=None):
    """Both paddings as explicit (lo, hi) pairs, or a readable string when one side depends on the input size.

    ``before`` is a zero-pad layer registered just before the torch conv (nn.ZeroPad2d): it counts as
    the conv's padding. SAME pads nothing where kernel == stride (a patchify stem) on sizes it divides.
    """
    k, d, s = _tuple(t.kernel_size, n), _tuple(t.dilation, n), _tuple(t.stride, n)
    tp = t.padding
    if tp == "valid":
        tp = ((0, 0),) * n
    elif tp == "same":
        tp = tuple(((ki - 1) * di // 2, (ki - 1) * di - (ki - 1) * di // 2) for ki, di in zip(k, d))
    else:
        tp = tuple((p, p) for p in _tuple(tp, n))
    if before is not None:
        extra = _tuple(before.padding, 2 * n)  # torch's pad order: last dim first, (left, right) each
        tp = tuple((lo + extra[2 * (n - 1 - i)], hi + extra[2 * (n - 1 - i) + 1]) for i, (lo, hi) in enumerate(tp))
    fp = f.padding
    if isinstance(fp, str):
        if fp.upper() == "VALID" or (fp.upper() == "SAME" and all(ki == si for ki, si in zip(k, s))
                                     and all(di == 1 for di in d)):
            fp = ((0, 0),) * n
        elif fp.upper() == "SAME" and all(si == 1 for si in s):
            fp = tuple(((ki - 1) * di // 2, (ki - 1) * di - (ki - 1) * di // 2) for ki, di in zip(k, d))
        else:
            fp = f"{fp!r} (pads by input size; stride {s[0]} pads (0, 1) on even sizes)"
    elif isinstance(fp, int):
        fp = ((fp, fp),) * n
    else:
        fp = tuple((p, p) if isinstance(p, int) else tuple(p) for p in fp)
        fp = _pairs2(fp)
    return tp, fp


def _pad_before(p: Pair, torch_root) -> nn.Module | None:
    """A zero-pad layer registered just before the conv in its parent (nn.ZeroPad2d, ConstantPad 0)."""
    if torch_root is None or not p.torch_name:
        return None
    parent_name, _, leaf = p.torch_name.rpartition(".")
    parent = torch_root.get_submodule(parent_name) if parent_name else torch_root
    names = [k for k, _ in parent.named_children()]
    i = names.index(leaf) if leaf in names else 0
    prev = getattr(parent, names[i - 1]) if i > 0 else None
    pads = (nn.ZeroPad1d, nn.ZeroPad2d, nn.ZeroPad3d, nn.ConstantPad1d, nn.ConstantPad2d, nn.ConstantPad3d)
    return prev if isinstance(prev, pads) and getattr(prev, "value", 0) == 0 else None


def _conv(p: Pair, out: list, torch_root=None) -> None:
    t, f = p.torch_module, p.nnx_module
    n = len(t.kernel_size)
    checks = [
        ("kernel_size", _tuple(t.kernel_size, n), _tuple(f.kernel_size, n), "kernel_size=..."),
        ("stride/strides", _tuple(t.stride, n), _tuple(f.strides if f.strides is not None else 1, n),
         f"strides={t.stride}"),
        ("dilation/kernel_dilation", _tuple(t.dilation, n),
         _tuple(f.kernel_dilation if f.kernel_dilation is not None else 1, n), f"kernel_dilation={t.dilation}"),
        ("bias/use_bias", t.bias is not None, f.use_bias, f"use_bias={t.bias is not None}"),
    ]
    if isinstance(t, nn.modules.conv._ConvNd) and not t.transposed:
        tp, fp = _conv_padding(t, f, n, _pad_before(p, torch_root))
        checks.append(("padding", tp, fp, (f"padding={list(tp)} (unless your __call__ pads before this conv: "
                                           "jnp.pad / F.pad, which lint cannot read)")))
        checks.append(("groups/feature_group_count", t.groups, f.feature_group_count,
                       f"feature_group_count={t.groups}"))
        if t.padding_mode != "zeros":
            checks.append(("padding_mode", t.padding_mode, "zeros", "pad by hand (jnp.pad mode) before a VALID conv"))
    for option, tv, fv, fix in checks:
        if tv != fv:
            out.append(Finding(p.torch_name, option, tv, fv, fix))


def _batchnorm(p: Pair, out: list, torch_root=None) -> None:
    t, f = p.torch_module, p.nnx_module
    _norm_eps(p, t.eps, f.epsilon, out)
    if t.momentum is None:
        out.append(Finding(p.torch_name, "momentum", None, f.momentum,
                           "torch momentum=None is a cumulative average, which flax lacks; give torch a number", True))
    elif abs(f.momentum - (1 - t.momentum)) > 1e-12:
        out.append(Finding(p.torch_name, "momentum", t.momentum, f.momentum,
                           f"momentum={1 - t.momentum:g} (flax weighs the old statistics: torch m is flax 1 - m)",
                           True))
    if t.track_running_stats and type(f) is nnx.BatchNorm:
        out.append(Finding(p.torch_name, "running_var", "unbiased (n-1)", "biased (n)",
                           "after train-mode steps eval outputs drift; update var with n/(n-1) in a BatchNorm "
                           "subclass (docs/port.md) or compare in eval mode", True))
    if f.axis != -1:
        out.append(Finding(p.torch_name, "axis", 1, f.axis, "axis=-1 for channels-last input"))
    if t.affine != (f.use_scale and f.use_bias):
        out.append(Finding(p.torch_name, "affine/use_scale,use_bias", t.affine, (f.use_scale, f.use_bias),
                           f"use_scale={t.affine}, use_bias={t.affine}"))


def _layernorm(p: Pair, out: list, torch_root=None) -> None:
    t, f = p.torch_module, p.nnx_module
    _norm_eps(p, eps_of(t), f.epsilon, out)
    if t.elementwise_affine != f.use_scale:
        out.append(Finding(p.torch_name, "elementwise_affine/use_scale", t.elementwise_affine, f.use_scale,
                           f"use_scale={t.elementwise_affine}"))
    has_bias = getattr(t, "bias", None) is not None
    if has_bias != f.use_bias:
        out.append(Finding(p.torch_name, "bias/use_bias", has_bias, f.use_bias, f"use_bias={has_bias}"))


def _groupnorm(p: Pair, out: list, torch_root=None) -> None:
    t, f = p.torch_module, p.nnx_module
    _norm_eps(p, t.eps, f.epsilon, out)
    if t.num_groups != f.num_groups:
        out.append(Finding(p.torch_name, "num_groups", t.num_groups, f.num_groups, f"num_groups={t.num_groups}"))


def _rmsnorm(p: Pair, out: list, torch_root=None) -> None:
    _norm_eps(p, eps_of(p.torch_module), p.nnx_module.epsilon, out)


def _embedding(p: Pair, out: list, torch_root=None) -> None:
    t = p.torch_module
    if t.padding_idx is not None:
        out.append(Finding(p.torch_name, "padding_idx", t.padding_idx, None,
                           f"nnx.Embed has none: stop the gradient of rows where ids == {t.padding_idx} "
                           "(jnp.where(mask, lax.stop_gradient(e), e)); ids out of range give NaN, not IndexError"))
    if t.max_norm is not None:
        out.append(Finding(p.torch_name, "max_norm", t.max_norm, None, "renormalise rows by hand; flax has no max_norm"))


def _attention(p: Pair, out: list, torch_root=None) -> None:
    t, f = p.torch_module, p.nnx_module
    if f.attention_fn is nnx.dot_product_attention:
        out.append(Finding(p.torch_name, "attention_fn (softmax precision)", "softmax in the input dtype",
                           "jax.nn.dot_product_attention: float32 softmax",
                           "pass attention_fn= a function keeping the input dtype (docs/port.md), or ~6e-8 "
                           "in float64"))
    if t.dropout != f.dropout_rate:
        out.append(Finding(p.torch_name, "dropout/dropout_rate", t.dropout, f.dropout_rate,
                           f"dropout_rate={t.dropout}"))
    if getattr(t, "bias_k", None) is not None or t.add_zero_attn:
        out.append(Finding(p.torch_name, "add_bias_kv/add_zero_attn", True, None, "flax has neither; drop them"))


def _linear(p: Pair, out: list, torch_root=None) -> None:
    has_bias = getattr(p.torch_module, "bias", None) is not None
    if has_bias != p.nnx_module.use_bias:
        out.append(Finding(p.torch_name, "bias/use_bias", has_bias, p.nnx_module.use_bias, f"use_bias={has_bias}"))


CHECKS = {"Conv": _conv, "ConvTranspose": _conv, "BatchNorm": _batchnorm, "LayerNorm": _layernorm,
          "GroupNorm": _groupnorm, "RMSNorm": _rmsnorm, "RMSNorm (HF)": _rmsnorm, "Embedding": _embedding,
          "MultiheadAttention": _attention, "Linear": _linear, "Linear (heads)": _linear,
          "Conv1D (HF)": _linear}


def _safely(out: list, path: str, what: str, check, *args) -> None:
    try:
        check(*args, out)
    except Exception as err:  # noqa: BLE001 - a foreign class without the attribute a check reads: one note
        out.append(Finding(path, "unreadable", type(args[-1] if len(args) > 1 else args[0]).__name__, None,
                           f"lint could not read {what} ({type(err).__name__}: {err}); compare measures it"))


def lint(torch_module: nn.Module, nnx_module: nnx.Module, names: dict[str, str] | None = None, *,
         pairing=None) -> list[Finding]:
    """The known default mismatches between each matched pair, read from settings only (nothing is run).

    Parameter-free torch layers (GELU and HF's GELU classes, pooling, Dropout) are read against the
    NNX attribute at the same (or mapped) path when it is readable: a function or a
    ``functools.partial`` of one. A check that cannot read a module says so in one finding.
    """
    out: list[Finding] = []
    pairs_ = pairing.pairs if pairing is not None else pair_models(torch_module, nnx_module, names).pairs
    for p in pairs_:
        check = CHECKS.get(p.rule.name)
        if check is not None and any(p.rule is r for r in (*layers.BUILTIN, *layers_hf.BUILTIN)):
            _safely(out, p.torch_name, f"{p.rule.name} settings", functools.partial(check, torch_root=torch_module),
                    p)
    compiled = compile_names(names)
    for name, t in torch_module.named_modules():
        for types, check in FUNCTIONAL:
            if isinstance(t, types):
                obj = nnx_attribute(nnx_module, mapped(name, compiled)[0])
                if obj is not None:
                    _safely(out, name, f"{type(t).__name__} settings", check, name, t, obj)
    return out
