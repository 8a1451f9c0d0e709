"""Building blocks shared by the models (AVCA's EmbeddingNet and pre-norm transformer layers)."""
from __future__ import annotations

import torch
from torch import nn


class EmbeddingNet(nn.Module):
    """AVCA's ``EmbeddingNet``: (Linear → BN → ReLU → Dropout) once or twice.

    Accepts [B, D] or [B, T, D] (steps are folded into the batch for BatchNorm; a ``mask`` [B, T]
    keeps padded steps out of the batch statistics and zeroes their output).

    ``momentum`` is the output BatchNorm's when there is a hidden layer, as in the public code
    (``src/model_improvements.py``): its hidden BatchNorm, and the single one without a hidden layer,
    keep torch's default 0.1.
    """

    def __init__(self, d_in: int, d_out: int, dropout: float, hidden: int | None = None, momentum: float = 0.1):
        super().__init__()
        layers: list[nn.Module] = []
        out_momentum = 0.1
        if hidden:
            layers += [nn.Linear(d_in, hidden), nn.BatchNorm1d(hidden), nn.ReLU(), nn.Dropout(dropout)]
            d_in, out_momentum = hidden, momentum
        layers += [nn.Linear(d_in, d_out), nn.BatchNorm1d(d_out, momentum=out_momentum), nn.ReLU(),
                   nn.Dropout(dropout)]
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        if x.dim() == 2:
            return self.net(x)
        b, t, d = x.shape
        if mask is None:
            return self.net(x.reshape(b * t, d)).reshape(b, t, -1)
        out = x.new_zeros(b, t, self.net[-4].out_features)
        out[mask] = self.net(x[mask])  # (n_valid, d_out)
        return out


class FeedForward(nn.Module):
    def __init__(self, dim: int, hidden: int, dropout: float):
        super().__init__()
        self.net = nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, hidden), nn.GELU(), nn.Dropout(dropout),
                                 nn.Linear(hidden, dim), nn.Dropout(dropout))

    def forward(self, x):
        return self.net(x)


class Attention(nn.Module):
    """Pre-norm multi-head attention (``heads × dim_head`` inner width), queries from ``x``."""

    def __init__(self, dim: int, heads: int, dim_head: int, dropout: float, cross: bool = False):
        super().__init__()
        self.norm_q = nn.LayerNorm(dim)
        self.norm_kv = nn.LayerNorm(dim) if cross else None  # keys/values from another sequence
        self.heads, self.dim_head = heads, dim_head
        inner = heads * dim_head  # AVCA: 3 heads × 100 on a 300-d model
        self.to_q = nn.Linear(dim, inner, bias=False)
        self.to_k = nn.Linear(dim, inner, bias=False)
        self.to_v = nn.Linear(dim, inner, bias=False)
        self.out = nn.Sequential(nn.Linear(inner, dim), nn.Dropout(dropout))

    def forward(self, x: torch.Tensor, context: torch.Tensor | None = None, key_mask: torch.Tensor | None = None):
        q = self.to_q(self.norm_q(x))
        if (context is None) != (self.norm_kv is None):
            raise ValueError("a cross-attention layer needs a context and a self-attention layer takes none")
        ctx = self.norm_kv(context) if context is not None else self.norm_q(x)
        k, v = self.to_k(ctx), self.to_v(ctx)
        b, n, _ = q.shape
        split = lambda t: t.reshape(b, t.shape[1], self.heads, self.dim_head).transpose(1, 2)  # (B, H, N, d)
        attn_mask = None if key_mask is None else key_mask[:, None, None, :]  # True = attend
        o = nn.functional.scaled_dot_product_attention(split(q), split(k), split(v), attn_mask=attn_mask)
        return self.out(o.transpose(1, 2).reshape(b, n, -1))


class TransformerLayer(nn.Module):
    """x ← x + Attn(LN(x), LN(context)); x ← x + FF(LN(x)). ``cross=False``: self-attention."""

    def __init__(self, dim: int, heads: int, dim_head: int, mlp: int, dropout: float, cross: bool = False):
        super().__init__()
        self.attn = Attention(dim, heads, dim_head, dropout, cross)
        self.ff = FeedForward(dim, mlp, dropout)

    def forward(self, x, context=None, key_mask=None):
        x = x + self.attn(x, context, key_mask)
        return x + self.ff(x)


def masked_mean(x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """Mean over the step axis of [B, T, D], counting only real steps."""
    if mask is None:
        return x.mean(dim=1)
    w = mask.to(x.dtype).unsqueeze(-1)
    return (x * w).sum(dim=1) / w.sum(dim=1).clamp_min(1.0)
