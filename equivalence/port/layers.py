"""The built-in layer rules: Linear (plain or against einsum heads), convolutions, norms, Embedding, attention."""

from __future__ import annotations

import numpy as np
from flax import nnx
from torch import nn

from .rules import Rule, channels_last, register


def _spatial_last(w: np.ndarray) -> np.ndarray:
    # torch (O, I, *k) -> flax (*k, I, O)
    return np.transpose(w, (*range(2, w.ndim), 1, 0))


def _spatial_first(k: np.ndarray) -> np.ndarray:
    n = k.ndim
    return np.transpose(k, (n - 1, n - 2, *range(n - 2)))


def _with_bias(out: dict, t: dict, key: str = "bias", nnx_key: str = "bias") -> dict:
    if t.get(key) is not None:
        out[nnx_key] = t[key]
    return out


def _linear_to_nnx(m, t):
    return _with_bias({"kernel": t["weight"].T}, t)


def _linear_to_torch(m, a):
    return _with_bias({"weight": a["kernel"].T}, a)


def _conv_to_nnx(m, t):
    return _with_bias({"kernel": _spatial_last(t["weight"])}, t)


def _conv_to_torch(m, a):
    return _with_bias({"weight": _spatial_first(a["kernel"])}, a)


def _flip(w: np.ndarray) -> np.ndarray:
    return np.flip(w, axis=tuple(range(2, w.ndim))).copy()


def _convT_to_nnx(m, t):
    # torch (I, O, *k) is the gradient of a conv; flax ConvTranspose(transpose_kernel=False)
    # correlates without flipping, so the kernel is spatially flipped: (*k, I, O).
    w = _flip(t["weight"])
    return _with_bias({"kernel": np.transpose(w, (*range(2, w.ndim), 0, 1))}, t)


def _convT_to_torch(m, a):
    k = a["kernel"]
    n = k.ndim
    return _with_bias({"weight": _flip(np.transpose(k, (n - 2, n - 1, *range(n - 2))))}, a)


def _affine_to_nnx(m, t):
    out = {}
    if t.get("weight") is not None:
        out["scale"] = t["weight"]
    return _with_bias(out, t)


def _affine_to_torch(m, a):
    out = {}
    if a.get("scale") is not None:
        out["weight"] = a["scale"]
    return _with_bias(out, a)


def _bn_to_nnx(m, t):
    out = _affine_to_nnx(m, t)
    if t.get("running_mean") is not None:
        out["mean"], out["var"] = t["running_mean"], t["running_var"]
    return out


def _bn_to_torch(m, a):
    out = _affine_to_torch(m, a)
    if a.get("mean") is not None:
        out["running_mean"], out["running_var"] = a["mean"], a["var"]
    return out


def _embed_to_nnx(m, t):
    return {"embedding": t["weight"]}


def _embed_to_torch(m, a):
    return {"weight": a["embedding"]}


def _mha_to_nnx(m, t):
    e, h = m.embed_dim, m.num_heads
    d = e // h
    out = {}
    for i, name in enumerate(("query", "key", "value")):
        w = t["in_proj_weight"][i * e:(i + 1) * e]
        out[f"{name}.kernel"] = w.T.reshape(e, h, d)
        if t.get("in_proj_bias") is not None:
            out[f"{name}.bias"] = t["in_proj_bias"][i * e:(i + 1) * e].reshape(h, d)
    out["out.kernel"] = t["out_proj.weight"].T.reshape(h, d, e)
    return _with_bias(out, t, "out_proj.bias", "out.bias")


def _mha_to_torch(m, a):
    e = m.embed_dim
    names = ("query", "key", "value")
    out = {"in_proj_weight": np.concatenate([a[f"{n}.kernel"].reshape(e, e).T for n in names])}
    if a.get("query.bias") is not None:
        out["in_proj_bias"] = np.concatenate([a[f"{n}.bias"].reshape(e) for n in names])
    out["out_proj.weight"] = a["out.kernel"].reshape(e, e).T
    return _with_bias(out, a, "out.bias", "out_proj.bias")


def _seq_first(y, m):
    # batch_first=False: torch (L, N, E) -> NNX (N, L, E)
    return y if getattr(m, "batch_first", True) else np.swapaxes(y, 0, 1)


def _norm_layout(y, m):
    # HF ConvNeXt's LayerNorm(data_format="channels_first") normalises dim 1 of NCHW: NNX sees NHWC
    return channels_last(y) if getattr(m, "data_format", None) == "channels_first" else y


BUILTIN = [
    Rule("Linear", (nn.Linear,), (nnx.Linear,), _linear_to_nnx, _linear_to_torch),
    Rule("Conv", (nn.Conv1d, nn.Conv2d, nn.Conv3d), (nnx.Conv,), _conv_to_nnx, _conv_to_torch,
         output=channels_last, input=channels_last),
    Rule("ConvTranspose", (nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d), (nnx.ConvTranspose,),
         _convT_to_nnx, _convT_to_torch, output=channels_last, input=channels_last),
    Rule("BatchNorm", (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d), (nnx.BatchNorm,), _bn_to_nnx, _bn_to_torch,
         output=channels_last, input=channels_last),
    Rule("LayerNorm", (nn.LayerNorm,), (nnx.LayerNorm,), _affine_to_nnx, _affine_to_torch,
         output=_norm_layout, input=_norm_layout),
    Rule("GroupNorm", (nn.GroupNorm,), (nnx.GroupNorm,), _affine_to_nnx, _affine_to_torch,
         output=channels_last, input=channels_last),
    Rule("RMSNorm", (nn.RMSNorm,), (nnx.RMSNorm,), _affine_to_nnx, _affine_to_torch),
    Rule("Embedding", (nn.Embedding,), (nnx.Embed,), _embed_to_nnx, _embed_to_torch),
    Rule("MultiheadAttention", (nn.MultiheadAttention,), (nnx.MultiHeadAttention,), _mha_to_nnx, _mha_to_torch,
         output=_seq_first, input=_seq_first),
    # einsum heads: the same matrix with its output (q/k/v) or input (out projection) axes split per head
    Rule("Linear (heads)", (nn.Linear,), (nnx.LinearGeneral, nnx.Einsum), _linear_to_nnx, _linear_to_torch,
         reshape=True),
]
for _rule in reversed(BUILTIN):
    register(_rule)
