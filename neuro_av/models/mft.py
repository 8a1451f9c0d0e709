"""MFT — Multimodal Fusion Transformer (seed ``mft_av_gzsl.txt``; non-spiking).

The seed gives only the abstract and result tables; this realisation (every choice a config field) is:

- per-step tokens of each modality from AVCA-style encoders (D_in → 512 → 300), plus a learned
  modality embedding and a learned step embedding;
- multi-head self-attention within each modality, then cross-attention audio→visual and
  visual→audio (pre-norm layers with residuals), pooled over real steps;
- AVCA's heads (θ_a, θ_v in the 64-d space, θ_w, decoder, reconstruction) and AVCA's losses;
- ``L_kl``: KL(one-hot ‖ softmax(−d(clip, O_w)/τ)) over the training classes, d the evaluation
  distance (sum over modalities of L2);
- ``L_cos``: 1 − cosine similarity, averaged over pairs of clips of the same class in the batch
  (the sampler puts ``clips_per_class`` ≥ 2 clips of each class in a batch).

Ablations of the seed's tables: ``attention=False`` (w/o att), ``modality="audio"|"visual"``,
``use_kl=False`` (l − l_kl), ``use_cos=False`` (l − l_cos).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from neuro_av.errors import ConfigError
from neuro_av.models.base import ClipBatch, TrainBatch, ZSLConfig, ZSLModel
from neuro_av.models.blocks import EmbeddingNet, TransformerLayer, masked_mean
from neuro_av.models.losses import avca_style_losses

MODALITIES = ("both", "audio", "visual")
# The seed's Tables 3–5: name -> config overrides.
ABLATIONS = {"none": {}, "no_attention": {"attention": False}, "audio_only": {"modality": "audio"},
             "visual_only": {"modality": "visual"}, "no_kl": {"use_kl": False}, "no_cos": {"use_cos": False}}


@dataclass(frozen=True)
class MFTConfig(ZSLConfig):
    encoder_hidden: int = 512
    token_dim: int = 300
    heads: int = 3
    dim_head: int = 100
    mlp_dim: int = 128
    self_depth: int = 1
    cross_depth: int = 1
    max_steps: int = 64
    attention: bool = True
    modality: str = "both"
    use_kl: bool = True
    kl_weight: float = 1.0
    kl_temperature: float = 1.0
    use_cos: bool = True
    cos_weight: float = 1.0
    reg_loss: bool = True

    def __post_init__(self):
        super().__post_init__()
        if self.modality not in MODALITIES:
            raise ConfigError(f"modality {self.modality!r} is not one of {MODALITIES}")
        if self.kl_temperature <= 0:
            raise ConfigError(f"kl_temperature must be positive, got {self.kl_temperature}")


class _Branch(nn.Module):
    def __init__(self, d_in: int, c: MFTConfig):
        super().__init__()
        self.enc = EmbeddingNet(d_in, c.token_dim, c.dropout_encoder, c.encoder_hidden, c.bn_momentum)
        self.self_attn = nn.ModuleList(TransformerLayer(c.token_dim, c.heads, c.dim_head, c.mlp_dim, c.dropout_encoder)
                                       for _ in range(c.self_depth))
        self.cross_attn = nn.ModuleList(TransformerLayer(c.token_dim, c.heads, c.dim_head, c.mlp_dim, c.dropout_encoder,
                                                         cross=True) for _ in range(c.cross_depth))
        self.proj = EmbeddingNet(c.token_dim, c.dim_out, c.dropout_decoder, c.decoder_hidden, c.bn_momentum)
        self.rec = EmbeddingNet(c.dim_out, c.token_dim, c.dropout_additional, None, c.bn_momentum)


class MFT(ZSLModel):
    def __init__(self, cfg: MFTConfig):
        super().__init__()
        self.cfg = c = cfg
        self.active = ("audio", "visual") if c.modality == "both" else (c.modality,)
        self.branches = nn.ModuleDict({"audio": _Branch(c.audio_dim, c), "visual": _Branch(c.video_dim, c)})
        self.modality_emb = nn.Parameter(torch.randn(2, c.token_dim) * 0.02)
        self.step_emb = nn.Parameter(torch.randn(c.max_steps, c.token_dim) * 0.02)
        self.w_proj = EmbeddingNet(c.text_dim, c.dim_out, c.dropout_additional, None, c.bn_momentum)
        self.dec = EmbeddingNet(c.dim_out, c.text_dim, c.dropout_additional, None, c.bn_momentum)

    def _pooled(self, clips: ClipBatch) -> dict[str, torch.Tensor]:
        t = clips.audio.shape[1]
        if t > self.cfg.max_steps:
            raise ConfigError(f"clips have {t} steps, more than max_steps={self.cfg.max_steps}; set max_steps")
        mask = clips.mask
        tokens = {}
        for k, (name, x) in enumerate((("audio", clips.audio), ("visual", clips.video))):
            tokens[name] = self.branches[name].enc(x, mask) + self.modality_emb[k] + self.step_emb[:t]  # (B, T, 300)
        if self.cfg.attention:
            for name in self.active:
                for layer in self.branches[name].self_attn:
                    tokens[name] = layer(tokens[name], key_mask=mask)
            if len(self.active) == 2:
                a, v = tokens["audio"], tokens["visual"]
                for la, lv in zip(self.branches["audio"].cross_attn, self.branches["visual"].cross_attn):
                    a, v = la(a, context=v, key_mask=mask), lv(v, context=a, key_mask=mask)
                tokens = {"audio": a, "visual": v}
        return {name: masked_mean(tokens[name], mask) for name in self.active}

    def clip_embeddings(self, clips: ClipBatch) -> list[torch.Tensor]:
        pooled = self._pooled(clips)
        return [self.branches[name].proj(pooled[name]) for name in self.active]

    def class_embeddings(self, text: torch.Tensor) -> torch.Tensor:
        return self.w_proj(text)

    def forward(self, batch: TrainBatch):
        c = self.cfg
        phi, phi_n = self._pooled(batch.pos), self._pooled(batch.neg)
        th = {m: self.branches[m].proj(phi[m]) for m in self.active}
        th_n = {m: self.branches[m].proj(phi_n[m]) for m in self.active}
        th_w, th_w_n = self.w_proj(batch.text), self.w_proj(batch.neg_text)
        parts = avca_style_losses([th[m] for m in self.active], [th_n[m] for m in self.active],
                                  [phi[m] for m in self.active], [self.branches[m].rec for m in self.active],
                                  th_w, th_w_n, batch.text, self.dec, c.margin, c.reg_loss)
        if c.use_kl:
            w_train = self.w_proj(batch.class_text)  # (C_train, 64)
            logits = -sum(torch.cdist(th[m], w_train) for m in self.active) / c.kl_temperature
            onehot = F.one_hot(batch.target, w_train.shape[0]).to(logits.dtype)
            parts["kl"] = c.kl_weight * F.kl_div(F.log_softmax(logits, dim=1), onehot, reduction="batchmean")
        if c.use_cos:
            emb = F.normalize(torch.cat([th[m] for m in self.active], dim=1), dim=1)
            same = batch.target[:, None] == batch.target[None, :]
            same.fill_diagonal_(False)
            if same.any():
                parts["cos"] = c.cos_weight * (1 - emb @ emb.T)[same].mean()
        return sum(parts.values()), parts
