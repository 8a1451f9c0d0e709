"""AVCA-style embedding losses shared by models with per-modality clip embeddings (MFT, STFT).

For each modality m with clip embedding θ_m (negative θ_m⁻) and pooled features φ_m:
``rec`` = MSE(w, D(θ_w)) + Σ_m MSE(w, D(θ_m)); ``cross_triplet`` = Σ_m T(D(θ_w), D(θ_m), D(θ_m⁻));
``text_triplet`` = Σ_m T(θ_w, θ_m, θ_m⁻) + T(θ_m, θ_w, θ_w⁻); ``reg`` = Σ_m MSE(R_m(θ_m), φ_m) +
MSE(θ_m, θ_w); T = triplet margin loss. (AVCA's own module writes the same terms out as its public
code does.)
"""
from __future__ import annotations

import torch.nn.functional as F


def avca_style_losses(th, th_n, phi, rec_heads, th_w, th_w_n, text, dec, margin: float, reg: bool = True) -> dict:
    """``th``, ``th_n``, ``phi``, ``rec_heads``: per-modality sequences in one order."""
    mse = F.mse_loss
    trip = lambda a, p, n: F.triplet_margin_loss(a, p, n, margin=margin)
    rho_w = dec(th_w)
    parts = {"rec": mse(text, rho_w), "cross_triplet": 0.0, "text_triplet": 0.0}
    if reg:
        parts["reg"] = 0.0
    for t, t_n, p, rec in zip(th, th_n, phi, rec_heads):
        rho, rho_n = dec(t), dec(t_n)
        parts["rec"] = parts["rec"] + mse(text, rho)
        parts["cross_triplet"] = parts["cross_triplet"] + trip(rho_w, rho, rho_n)
        parts["text_triplet"] = parts["text_triplet"] + trip(th_w, t, t_n) + trip(t, th_w, th_w_n)
        if reg:
            parts["reg"] = parts["reg"] + mse(rec(t), p) + mse(t, th_w)
    return parts
