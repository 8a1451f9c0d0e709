"""Rank-R Tucker (MUTAN-style) bilinear fusion of STFT (a reconstruction: the seed names
a multi-scale temporal-semantic Tucker fusion without equations).

With ỹ, z̃ already projected to the core width d_t::

    f = Σ_{r=1..R} (ỹ W_y^r) ⊙ (z̃ W_z^r)           W_y^r, W_z^r ∈ R^{d_t × d_t}

a full second-order interaction of ỹ and z̃ constrained to rank R, costing 2·R·d_t² weights
instead of d_t³. The output projection ``W_o`` and the multi-scale sum live in the module.
"""
from __future__ import annotations

import torch


def tucker_fusion(y: torch.Tensor, z: torch.Tensor, w_y: torch.Tensor, w_z: torch.Tensor) -> torch.Tensor:
    """``y``, ``z`` [B, d_t]; ``w_y``, ``w_z`` [R, d_t, d_t] -> [B, d_t]."""
    if w_y.shape != w_z.shape or w_y.shape[1] != y.shape[-1] or w_z.shape[1] != z.shape[-1]:
        raise ValueError(f"Tucker shapes differ: y {tuple(y.shape)}, z {tuple(z.shape)}, "
                         f"W_y {tuple(w_y.shape)}, W_z {tuple(w_z.shape)}")
    return torch.einsum("bd,rde->bre", y, w_y).mul(torch.einsum("bd,rde->bre", z, w_z)).sum(dim=1)
