"""GLP (global-local pooling) and TSF (time-step factor) of STFT (a reconstruction: the seed names them
without equations).

GLP forms the SNN's input current from features ``x`` [..., D] along the feature axis::

    x_in = λ · MaxPool_k(x) + (1 − λ) · AvgPool_k(x)      window k, stride 1, same padding

Max pooling ignores the padding; average pooling divides by the number of real entries in the
window (``count_include_pad=False``). λ ∈ (0, 1) is given (the module learns it through a sigmoid).

TSF reads a spike train out as an input-dependent weighting of its time steps::

    y = Σ_t λ_t s_t,   λ = softmax_t(logits)           masked steps get weight 0
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from neuro_av.errors import ConfigError


def glp(x: torch.Tensor, lam: torch.Tensor | float, window: int = 3) -> torch.Tensor:
    """Global-local pooling of ``x`` [..., D] along D; returns the same shape."""
    if window < 1 or window % 2 == 0:
        raise ConfigError(f"GLP window must be odd and positive, got {window}")
    shape = x.shape
    flat = x.reshape(-1, 1, shape[-1])  # (M, 1, D)
    pad = window // 2
    mx = F.max_pool1d(F.pad(flat, (pad, pad), value=float("-inf")), window, stride=1)
    av = F.avg_pool1d(flat, window, stride=1, padding=pad, count_include_pad=False)
    return (lam * mx + (1 - lam) * av).reshape(shape)


def tsf(spikes: torch.Tensor, logits: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Time-step-factor read-out: ``spikes`` [B, T, N], ``logits`` [B, T] -> [B, N]."""
    if mask is not None:
        logits = logits.masked_fill(~mask, float("-inf"))
    weights = torch.softmax(logits, dim=1)  # (B, T)
    return torch.einsum("bt,btn->bn", weights, spikes)
