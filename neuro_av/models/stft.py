"""STFT — Spiking Tucker Fusion Transformer (IEEE TIP 2024). No public code exists; the seed gives the
abstract and figure captions only, so every component below is a reconstruction from them, and every
reconstructed choice is a config field.

Per modality m ∈ {audio, visual}, clips of T steps:

1. encoder (D_in → 512 → D_emb) per step → tokens x_m (B, T, D_emb);
2. latent knowledge combiner: K learnable slots, shared by both modalities, attend to all tokens,
   then each modality's tokens attend back to the slots → z_m (B, T, D_emb); ``sem_m`` = mean of z_m;
3. GLP forms the SNN input current c_m,t = GLP(z_m,t) (feature-axis max/avg mix, window k);
4. spiking branch: L blocks Linear → LIF over the T steps (the ``snn`` part of the partition);
5. dynamic thresholds θ^l_m,t = θ_0 · 2σ(W_s^l sem_m + W_τ^l tem_m,t), tem = the step's input current
   (``dynamic_threshold=False``: θ_0);
6. TSF read-out y_m = Σ_t softmax_t(MLP(c_m,t)) s^L_m,t;
7. multi-scale rank-R Tucker fusion f_m = Σ_scales Tucker(y_m, sem_m);
8. cross-modal transformer with weights shared by the two directions: F_a = CMT(f_a ← z_v),
   F_v = CMT(f_v ← z_a);
9. AVCA-style heads and losses (θ_a, θ_v in the 64-d space; triplet + reconstruction + regression).

The model *is* its partition: ``clip_embeddings = post(pre ▷ snn)``.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from neuro_av.errors import ConfigError
from neuro_av.functional.lif import LIFStepParams
from neuro_av.models.base import ClipBatch, TrainBatch, ZSLConfig, ZSLModel
from neuro_av.models.blocks import EmbeddingNet, TransformerLayer, masked_mean
from neuro_av.models.losses import avca_style_losses
from neuro_av.models.partition import Partition, SnnInput, SnnOutput, SpikingBranch
from neuro_av.models.spiking import GLP, TSF, MultiScaleTucker

CHAINS = ("audio", "visual")
# The seed's ablations (time steps, rank, fixed thresholds) and each component: name -> overrides.
ABLATIONS = {
    "none": {}, "fixed_threshold": {"dynamic_threshold": False}, "t_2": {"time_steps": 2}, "t_4": {"time_steps": 4},
    "rank_1": {"tucker_rank": 1}, "rank_4": {"tucker_rank": 4}, "no_glp": {"use_glp": False},
    "no_tsf": {"use_tsf": False}, "no_tucker": {"use_tucker": False}, "no_slots": {"slots": 0},
    "no_cmt": {"use_cmt": False},
}


@dataclass(frozen=True)
class STFTConfig(ZSLConfig):
    encoder_hidden: int = 512
    token_dim: int = 300  # D_emb
    slots: int = 8  # K latent knowledge slots (0: no combiner)
    heads: int = 3
    dim_head: int = 100
    mlp_dim: int = 128
    glp_window: int = 3
    use_glp: bool = True  # False: the tokens are the input current
    snn_widths: tuple[int, ...] = (256, 256)  # L = 2 Linear -> LIF blocks
    time_steps: int = 0  # SNN steps; 0 = the clip's steps (averaged input is repeated)
    threshold_base: float = 0.25  # θ_0 (reconstruction: both blocks fire 20–30 % at initialisation)
    dynamic_threshold: bool = True
    tau_syn_s: float = 2e-3  # dt/τ = 0.5 per step (reconstruction; the seed gives no time constants)
    tau_mem_s: float = 2e-3
    dt_s: float = 1e-3
    surrogate_alpha: float = 100.0
    use_tsf: bool = True  # False: plain mean over steps
    tucker_rank: int = 10
    tucker_scales: tuple[int, ...] = (64, 128, 256)
    use_tucker: bool = True  # False: concatenation + Linear
    use_cmt: bool = True

    def __post_init__(self):
        super().__post_init__()
        if not self.snn_widths:
            raise ConfigError("snn_widths needs at least one layer")
        if self.tucker_rank < 1 or not self.tucker_scales:
            raise ConfigError("tucker_rank must be >= 1 and tucker_scales non-empty")
        if self.threshold_base <= 0 or self.time_steps < 0:
            raise ConfigError("threshold_base must be positive and time_steps >= 0")

    @property
    def lif(self) -> LIFStepParams:
        return LIFStepParams(tau_syn_s=self.tau_syn_s, tau_mem_s=self.tau_mem_s, dt_s=self.dt_s,
                             surrogate_alpha=self.surrogate_alpha)


def resample_steps(x: torch.Tensor, mask: torch.Tensor, steps: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Nearest-step resampling of (B, T, D) to ``steps`` steps (T = 1 is repeated)."""
    if steps == 0 or steps == x.shape[1]:
        return x, mask
    idx = (torch.arange(steps, device=x.device) * x.shape[1]) // steps
    return x[:, idx], mask[:, idx]


class STFT(ZSLModel):
    def __init__(self, cfg: STFTConfig):
        super().__init__()
        self.cfg = c = cfg
        dims = {"audio": c.audio_dim, "visual": c.video_dim}
        self.enc = nn.ModuleDict({m: EmbeddingNet(dims[m], c.token_dim, c.dropout_encoder, c.encoder_hidden,
                                                  c.bn_momentum) for m in CHAINS})
        if c.slots:
            self.slots = nn.Parameter(torch.randn(c.slots, c.token_dim) * 0.02)
            self.slot_read = TransformerLayer(c.token_dim, c.heads, c.dim_head, c.mlp_dim, c.dropout_encoder, cross=True)
            self.slot_write = TransformerLayer(c.token_dim, c.heads, c.dim_head, c.mlp_dim, c.dropout_encoder, cross=True)
        self.glp = GLP(c.glp_window)
        widths = [c.token_dim, *c.snn_widths]
        self.snn = SpikingBranch({m: widths for m in CHAINS}, c.lif)
        self.theta_sem = nn.ModuleDict({m: nn.ModuleList(nn.Linear(c.token_dim, w) for w in c.snn_widths) for m in CHAINS})
        self.theta_tem = nn.ModuleDict({m: nn.ModuleList(nn.Linear(c.token_dim, w) for w in c.snn_widths)
                                        for m in CHAINS})
        self.tsf = nn.ModuleDict({m: TSF(c.token_dim) for m in CHAINS})
        y_dim = c.snn_widths[-1]
        if c.use_tucker:
            self.fuse = nn.ModuleDict({m: MultiScaleTucker(y_dim, c.token_dim, c.token_dim, c.tucker_rank, c.tucker_scales)
                                       for m in CHAINS})
        else:
            self.fuse = nn.ModuleDict({m: nn.Linear(y_dim + c.token_dim, c.token_dim) for m in CHAINS})
        if c.use_cmt:
            self.cmt = TransformerLayer(c.token_dim, c.heads, c.dim_head, c.mlp_dim, c.dropout_encoder, cross=True)
        self.proj = nn.ModuleDict({m: EmbeddingNet(c.token_dim, c.dim_out, c.dropout_decoder, c.decoder_hidden,
                                                   c.bn_momentum) for m in CHAINS})
        self.rec = nn.ModuleDict({m: EmbeddingNet(c.dim_out, c.token_dim, c.dropout_additional, None, c.bn_momentum)
                                  for m in CHAINS})
        self.w_proj = EmbeddingNet(c.text_dim, c.dim_out, c.dropout_additional, None, c.bn_momentum)
        self.dec = EmbeddingNet(c.dim_out, c.text_dim, c.dropout_additional, None, c.bn_momentum)

    # -- partition ------------------------------------------------------------------------------
    def pre(self, clips: ClipBatch):
        c = self.cfg
        audio, mask = resample_steps(clips.audio, clips.mask, c.time_steps)
        video, _ = resample_steps(clips.video, clips.mask, c.time_steps)
        tokens = {"audio": self.enc["audio"](audio, mask), "visual": self.enc["visual"](video, mask)}  # (B, T, D)
        if c.slots:
            both = torch.cat([tokens["audio"], tokens["visual"]], dim=1)
            key_mask = torch.cat([mask, mask], dim=1)
            slots = self.slot_read(self.slots.expand(both.shape[0], -1, -1), context=both, key_mask=key_mask)
            tokens = {m: self.slot_write(tokens[m], context=slots) for m in CHAINS}
        current = {m: self.glp(tokens[m]) if c.use_glp else tokens[m] for m in CHAINS}
        sem = {m: masked_mean(tokens[m], mask) for m in CHAINS}
        thresholds = {}
        for m in CHAINS:
            per_layer = []
            for w_sem, w_tem, width in zip(self.theta_sem[m], self.theta_tem[m], c.snn_widths):
                if c.dynamic_threshold:
                    drive = w_sem(sem[m])[:, None, :] + w_tem(current[m])  # (B, T, N_l)
                    per_layer.append(c.threshold_base * 2 * torch.sigmoid(drive))
                else:
                    per_layer.append(torch.full((1, 1, width), c.threshold_base, device=mask.device))
            thresholds[m] = per_layer
        return SnnInput(current, thresholds, mask), {"tokens": tokens, "sem": sem, "current": current, "mask": mask}

    def post(self, clips: ClipBatch, state, out: SnnOutput) -> list[torch.Tensor]:
        return self._post(state, out)[0]

    def _post(self, state, out: SnnOutput):
        """(embeddings, fused features per modality); the latter feed the regression loss."""
        c, mask = self.cfg, state["mask"]
        fused = {}
        for m in CHAINS:
            spikes = out.output(m)  # (B, T, N_L)
            y = self.tsf[m](spikes, state["current"][m], mask) if c.use_tsf else masked_mean(spikes, mask)
            fused[m] = self.fuse[m](y, state["sem"][m]) if c.use_tucker else self.fuse[m](torch.cat([y, state["sem"][m]], -1))
        if c.use_cmt:
            other = {"audio": "visual", "visual": "audio"}
            fused = {m: self.cmt(fused[m][:, None, :], context=state["tokens"][other[m]], key_mask=mask)[:, 0]
                     for m in CHAINS}
        return [self.proj[m](fused[m]) for m in CHAINS], fused

    def partition(self) -> Partition:
        return Partition(self.pre, self.snn, self.post)

    # -- model interface ----------------------------------------------------------------------
    def clip_embeddings(self, clips: ClipBatch) -> list[torch.Tensor]:
        snn_in, state = self.pre(clips)
        return self.post(clips, state, self.snn(snn_in))

    def class_embeddings(self, text: torch.Tensor) -> torch.Tensor:
        return self.w_proj(text)

    def forward(self, batch: TrainBatch):
        snn_in, state = self.pre(batch.pos)
        th, phi = self._post(state, self.snn(snn_in))
        th_n = self.clip_embeddings(batch.neg)
        th_w, th_w_n = self.w_proj(batch.text), self.w_proj(batch.neg_text)
        parts = avca_style_losses(th, th_n, [phi[m] for m in CHAINS], [self.rec[m] for m in CHAINS],
                                  th_w, th_w_n, batch.text, self.dec, self.cfg.margin)
        return sum(parts.values()), parts
