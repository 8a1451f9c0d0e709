"""AVCA (Mercea et al., CVPR 2022): the public non-spiking reference the spiking papers build on.

Structure as in the public code: per-modality encoders (D_in → 512 → 300), one pre-norm
cross-attention transformer layer over the two modality tokens (3 heads × 100, MLP 64) added
residually, projections to the 64-d joint space (θ_a, θ_v), a text projection θ_w, a shared decoder
D back to the text space and per-modality reconstruction heads. Temporal inputs are averaged over
their real steps first (AVCA works on averaged features).

Loss (public code): ``l_rec + l_ct + l_w`` (+ ``l_reg`` and the additional triplets when enabled):
reconstruction MSEs of w from ρ_a, ρ_v, ρ_w; cross-modal triplets on the decoded embeddings;
four triplets between θ_w and θ_a / θ_v with negatives; regression MSEs.

Scoring (``scoring``): the public code (``src/utils.py``, ``evaluate_dataset_baseline``) computes
only the *visual* embedding's L2 distances and reports that evaluation under "audio", "video" and
"both" alike, so ``"visual"`` is the default; ``"sum"`` adds the audio and visual distances (its
"both" mode for the other baselines).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from neuro_av.errors import ConfigError
from neuro_av.models.base import ClipBatch, TrainBatch, ZSLConfig, ZSLModel
from neuro_av.models.blocks import EmbeddingNet, TransformerLayer, masked_mean

SCORINGS = ("visual", "sum")


@dataclass(frozen=True)
class AVCAConfig(ZSLConfig):
    encoder_hidden: int = 512
    token_dim: int = 300
    heads: int = 3
    dim_head: int = 100
    mlp_dim: int = 64
    depth: int = 1
    reg_loss: bool = True  # public training commands enable it (reconstruction: verify per dataset)
    additional_triplets: bool = True
    additional_triplet_weights: tuple[float, float] = (1.0, 1.0)
    scoring: str = "visual"  # the public code's evaluation; "sum": audio + visual distances

    def __post_init__(self):
        super().__post_init__()
        if self.depth < 0:
            raise ConfigError(f"depth must be >= 0, got {self.depth}")
        if self.scoring not in SCORINGS:
            raise ConfigError(f"scoring {self.scoring!r} is not one of {', '.join(SCORINGS)}")


class AVCA(ZSLModel):
    def __init__(self, cfg: AVCAConfig):
        super().__init__()
        self.cfg = cfg
        c = cfg
        self.a_enc = EmbeddingNet(c.audio_dim, c.token_dim, c.dropout_encoder, c.encoder_hidden, c.bn_momentum)
        self.v_enc = EmbeddingNet(c.video_dim, c.token_dim, c.dropout_encoder, c.encoder_hidden, c.bn_momentum)
        self.cross = nn.ModuleList(TransformerLayer(c.token_dim, c.heads, c.dim_head, c.mlp_dim, c.dropout_encoder)
                                   for _ in range(c.depth))
        self.pos = nn.Parameter(torch.randn(2, c.token_dim))
        self.a_proj = EmbeddingNet(c.token_dim, c.dim_out, c.dropout_decoder, c.decoder_hidden, c.bn_momentum)
        self.v_proj = EmbeddingNet(c.token_dim, c.dim_out, c.dropout_decoder, c.decoder_hidden, c.bn_momentum)
        self.w_proj = EmbeddingNet(c.text_dim, c.dim_out, c.dropout_additional, None, c.bn_momentum)
        self.dec = EmbeddingNet(c.dim_out, c.text_dim, c.dropout_additional, None, c.bn_momentum)
        self.a_rec = EmbeddingNet(c.dim_out, c.token_dim, c.dropout_additional, None, c.bn_momentum)
        self.v_rec = EmbeddingNet(c.dim_out, c.token_dim, c.dropout_additional, None, c.bn_momentum)

    def _encode(self, clips: ClipBatch):
        phi_a = self.a_enc(masked_mean(clips.audio, clips.mask))  # (B, 300)
        phi_v = self.v_enc(masked_mean(clips.video, clips.mask))
        tokens = torch.stack([phi_a + self.pos[0], phi_v + self.pos[1]], dim=1)  # (B, 2, 300)
        attn = tokens
        for layer in self.cross:
            attn = layer(attn)
        if self.cfg.depth:
            phi_a, phi_v = phi_a + attn[:, 0], phi_v + attn[:, 1]
        return phi_a, phi_v

    def clip_embeddings(self, clips: ClipBatch) -> list[torch.Tensor]:
        phi_a, phi_v = self._encode(clips)
        return [self.a_proj(phi_a), self.v_proj(phi_v)]

    def class_embeddings(self, text: torch.Tensor) -> torch.Tensor:
        return self.w_proj(text)

    def embedding_distances(self, embeddings: list[torch.Tensor], classes: torch.Tensor) -> torch.Tensor:
        theta_a, theta_v = embeddings
        if self.cfg.scoring == "visual":
            return torch.cdist(theta_v, classes)
        return torch.cdist(theta_a, classes) + torch.cdist(theta_v, classes)

    def forward(self, batch: TrainBatch):
        c, mse = self.cfg, F.mse_loss
        trip = lambda a, p, n: F.triplet_margin_loss(a, p, n, margin=c.margin)
        phi_a, phi_v = self._encode(batch.pos)
        phi_a_n, phi_v_n = self._encode(batch.neg)
        th_a, th_v = self.a_proj(phi_a), self.v_proj(phi_v)
        th_a_n, th_v_n = self.a_proj(phi_a_n), self.v_proj(phi_v_n)
        th_w, th_w_n = self.w_proj(batch.text), self.w_proj(batch.neg_text)
        rho_a, rho_v, rho_w = self.dec(th_a), self.dec(th_v), self.dec(th_w)
        rho_a_n, rho_v_n = self.dec(th_a_n), self.dec(th_v_n)
        w = batch.text
        parts = {
            "rec": mse(w, rho_v) + mse(w, rho_a) + mse(w, rho_w),
            "cross_triplet": trip(rho_w, rho_v, rho_v_n) + trip(rho_w, rho_a, rho_a_n),
            "text_triplet": trip(th_w, th_v, th_v_n) + trip(th_w, th_a, th_a_n)
            + trip(th_a, th_w, th_w_n) + trip(th_v, th_w, th_w_n),
        }
        if c.reg_loss:
            parts["reg"] = (mse(self.v_rec(th_v), phi_v) + mse(self.a_rec(th_a), phi_a)
                            + mse(th_v, th_w) + mse(th_a, th_w))
        if c.additional_triplets:
            w1, w2 = c.additional_triplet_weights
            parts["extra_triplet"] = (w1 * (trip(th_a, th_w, th_a_n) + trip(th_v, th_w, th_v_n))
                                      + w2 * (trip(th_w, th_a, th_w_n) + trip(th_w, th_v, th_w_n)))
        return sum(parts.values()), parts
