"""Thin nn.Module wrappers around :mod:`neuro_av.functional` (parameters + the one time loop)."""
from __future__ import annotations

import torch
from torch import nn

from neuro_av.functional.discrepancy import dab
from neuro_av.functional.events import egm
from neuro_av.functional.lif import LIFStepParams, dt_lif_step, zero_state
from neuro_av.functional.pooling import glp, tsf
from neuro_av.functional.tucker import tucker_fusion


class DynamicThresholdLIF(nn.Module):
    """LIF neurons over a clip: ``forward(current [B, T, N], threshold broadcastable to [B, T, N])``.

    State starts at zero for every call (= every clip) and is carried across the clip's T steps;
    returns spikes [B, T, N]. Padded steps (``mask`` False) receive no input but still decay.
    """

    def __init__(self, params: LIFStepParams = LIFStepParams()):
        super().__init__()
        self.params = params

    def forward(self, current: torch.Tensor, threshold, mask: torch.Tensor | None = None) -> torch.Tensor:
        threshold = torch.as_tensor(threshold, dtype=current.dtype, device=current.device)
        if threshold.dim() == 3:  # (B or 1, T or 1, N or 1): one threshold per step
            threshold = threshold.expand(-1, current.shape[1], -1)
            steps = lambda t: threshold[:, t]
        else:  # scalar or (N,): the same every step
            steps = lambda t: threshold
        if mask is not None:
            current = current * mask.unsqueeze(-1).to(current.dtype)
        state = zero_state(current[:, 0])
        out = []
        for t in range(current.shape[1]):
            z, state = dt_lif_step(current[:, t], state, steps(t), self.params)
            out.append(z)
        return torch.stack(out, dim=1)  # (B, T, N)


class GLP(nn.Module):
    """Global-local pooling with a learnable mix λ = σ(λ_raw) (initially 0.5)."""

    def __init__(self, window: int = 3):
        super().__init__()
        self.window = window
        self.lam_raw = nn.Parameter(torch.zeros(()))

    @property
    def lam(self) -> torch.Tensor:
        return torch.sigmoid(self.lam_raw)

    def forward(self, x):
        return glp(x, self.lam, self.window)


class TSF(nn.Module):
    """Time-step factor: logits_t = MLP(x_t) of the step's pooled input; y = Σ_t softmax(logits)_t s_t."""

    def __init__(self, d_in: int, hidden: int = 32):
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(d_in, hidden), nn.ReLU(), nn.Linear(hidden, 1))

    def forward(self, spikes: torch.Tensor, context: torch.Tensor, mask: torch.Tensor | None = None):
        """``spikes`` [B, T, N], ``context`` [B, T, D] (the SNN input) -> [B, N]."""
        return tsf(spikes, self.mlp(context).squeeze(-1), mask)


class EGM(nn.Module):
    """Event generation on feature sequences (no parameters; contrast threshold C fixed)."""

    def __init__(self, contrast: float = 0.2, eps: float = 1e-3):
        super().__init__()
        self.contrast, self.eps = contrast, eps

    def forward(self, x, mask=None):
        return egm(x, self.contrast, self.eps, mask)


class DAB(nn.Module):
    """Discrepancy analysis with a learnable β_a > 0 (β_a = softplus(raw), initially 1)."""

    def __init__(self, reduce: str = "norm"):
        super().__init__()
        self.reduce = reduce
        self.beta_raw = nn.Parameter(torch.tensor(0.5413))  # softplus(0.5413) ≈ 1

    def forward(self, audio, visual_events):
        return dab(audio, visual_events, nn.functional.softplus(self.beta_raw), self.reduce)


class TuckerFusion(nn.Module):
    """f = W_o Σ_r (W_y^r ỹ) ⊙ (W_z^r z̃), ỹ = P_y y, z̃ = P_z z in a d_t-wide core of rank R."""

    def __init__(self, d_y: int, d_z: int, d_core: int, rank: int, d_out: int):
        super().__init__()
        self.proj_y, self.proj_z = nn.Linear(d_y, d_core), nn.Linear(d_z, d_core)
        self.w_y = nn.Parameter(torch.randn(rank, d_core, d_core) / d_core**0.5)
        self.w_z = nn.Parameter(torch.randn(rank, d_core, d_core) / d_core**0.5)
        self.out = nn.Linear(d_core, d_out)

    def forward(self, y, z):
        return self.out(tucker_fusion(torch.tanh(self.proj_y(y)), torch.tanh(self.proj_z(z)), self.w_y, self.w_z))


class MultiScaleTucker(nn.Module):
    """Sum of Tucker fusions with different core widths (STFT's multi-scale fusion)."""

    def __init__(self, d_y: int, d_z: int, d_out: int, rank: int, scales=(64, 128, 256)):
        super().__init__()
        self.fusions = nn.ModuleList(TuckerFusion(d_y, d_z, s, rank, d_out) for s in scales)

    def forward(self, y, z):
        return sum(f(y, z) for f in self.fusions)
