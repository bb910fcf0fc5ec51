"""HF's float32 internals (RMSNorm's upcast, RoPE tables) kept in the input dtype, for a float64 reference."""

from __future__ import annotations

import contextlib

import torch


def _rms_norm(self, hidden_states: torch.Tensor) -> torch.Tensor:
    # HF: .to(torch.float32) first, which in a float64 check rounds every norm to float32
    variance = hidden_states.pow(2).mean(-1, keepdim=True)
    return self.weight * (hidden_states * torch.rsqrt(variance + self.variance_epsilon))


def _rotary(self, x: torch.Tensor, position_ids: torch.Tensor):
    # HF: inv_freq computed in float32 at construction, cos/sin in float32 in forward
    dim = getattr(self.config, "head_dim", None) or self.config.hidden_size // self.config.num_attention_heads
    base = self.config.rope_parameters["rope_theta"]
    inv_freq = 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.float64) / dim))
    freqs = position_ids[..., None].to(torch.float64) * inv_freq
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos().to(x.dtype), emb.sin().to(x.dtype)


@contextlib.contextmanager
def internals(rms_norm: type | None = None, rotary: type | None = None):
    """Patch the given HF classes' forward for the duration (restored on exit)."""
    saved = [(cls, cls.forward) for cls in (rms_norm, rotary) if cls is not None]
    try:
        if rms_norm is not None:
            rms_norm.forward = _rms_norm
        if rotary is not None:
            rotary.forward = _rotary
        yield
    finally:
        for cls, forward in saved:
            cls.forward = forward
