"""MDFT — Motion-Decoupled Spiking Transformer (ACM MM 2023; full text in the seeds).

Two streams over a clip's T steps (encoded audio a_t, visual v_t, D = 512):

- contextual semantics, RJLU (eq. 1–3): joint knowledge h_t (h_0 learnable),
  ``C_m = CA(AP(m_t), AP(h_{t−1}))``, ``S_t = MLP(LN(SA([a_t; h_{t−1}; v_t]))) + SA(·)``,
  ``h_t = g ⊙ h_{t−1} + (1 − g) ⊙ pool(S_t)`` with ``g = σ(C_a + C_v)``;
- motion (MIM): EGM events E_v from the visual features (eq. 4–5), DAB audio discrepancy
  E_a (eq. 6), dynamic thresholds (eq. 7) ``θ_t = (φ + ω) θ_{t−1}``, ``φ = σ(AP(S_t))``,
  ``ω = −N(S_t) log(1/N(S_t) + E_v,t)``, and per modality three Linear → LIF blocks (the ``snn``);
- CRM (eq. 10–11): ``R_m = CA(m_t, m_t ⊙ σ(j_m,t))``, ``P_m = MLP(LN(R_m)) + R_m``,
  ``Z = MHCA(P_v, [P_a; h_T])``, ``F = MLP(LN(Z)) + Z`` (8 heads × 64), pooled over steps;
- heads ``O_av = AV_proj(F)``, ``O_w = W_proj(w)``, reconstruction of w; loss L_n + L_p + L_r.

Reconstructions of what the paper leaves open (each a config field): AP(x) splits a D-vector into ``rjlu_chunks``
tokens (RJLU) or average-pools it to a layer's width (thresholds); the RJLU gate is squashed by σ (``rjlu_gate_sigmoid``);
N is min-max normalisation to (ε, 1]; the log argument is clamped positive; θ is clamped to
[θ_min, θ_max] = [0.1 θ_0, 10 θ_0]; the CRM projects spikes (N_L wide) to D before σ; h_T joins
the MHCA context; EGM runs on the visual input features (a fixed sensor in front of the network).
The seed prints L_p and L_r without squares; read as mean squared errors.

Found while implementing: as printed, eq. 7 can only lower the threshold — φ < 1 and ω ≤ 0 (since
1/N ≥ 1 and E_v ≥ 0 make the log non-negative), so φ + ω < 1 and θ decays geometrically onto the
θ_min clamp within a few steps. The clamp is what keeps θ positive; we keep the equation as written.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from neuro_av.errors import ConfigError
from neuro_av.functional.lif import LIFStepParams
from neuro_av.models.base import ClipBatch, TrainBatch, ZSLConfig, ZSLModel
from neuro_av.models.blocks import (
    EmbeddingNet,
    FeedForward,
    TransformerLayer,
    masked_mean,
)
from neuro_av.models.partition import Partition, SnnInput, SnnOutput, SpikingBranch
from neuro_av.models.spiking import DAB, EGM

CHAINS = ("audio", "visual")
# The seed's ablations (Tables 3–5 and Fig. 6): name -> config overrides.
ABLATIONS = {
    "none": {}, "no_mim": {"use_mim": False}, "no_rjlu": {"use_rjlu": False}, "no_crm": {"use_crm": False},
    "mlp_snn": {"snn": False}, "no_egm": {"use_egm": False}, "fixed_threshold": {"dynamic_threshold": False},
    "fixed_threshold_0.5": {"dynamic_threshold": False, "threshold_base": 0.5},
    "no_triplet": {"use_triplet": False}, "no_projection_loss": {"use_projection_loss": False},
    "no_reconstruction_loss": {"use_reconstruction_loss": False},
    "raw_rjlu_gate": {"rjlu_gate_sigmoid": False},  # the reconstruction undone (not a seed ablation)
}


@dataclass(frozen=True)
class MDFTConfig(ZSLConfig):
    hidden: int = 512  # T_hid, encoder output and token width
    rjlu_chunks: int = 8
    rjlu_gate_sigmoid: bool = True  # reconstruction: g = σ(C_a + C_v); False uses C_a + C_v as the seed prints
    rjlu_heads: int = 4
    heads: int = 8
    dim_head: int = 64
    mlp_dim: int = 512
    snn_widths: tuple[int, ...] = (256, 256, 256)
    threshold_base: float = 0.25  # θ_0
    threshold_clamp: tuple[float, float] = (0.1, 10.0)  # θ in [0.1 θ_0, 10 θ_0]
    norm_eps: float = 1e-3  # N(·) maps to (ε, 1]
    egm_source: str = "input"  # "input": events of the visual features (a sensor); "encoded": of v_t
    egm_contrast: float = 0.2
    egm_eps: float = 1e-3
    dab_reduce: str = "norm"
    tau_syn_s: float = 2e-3
    tau_mem_s: float = 2e-3
    dt_s: float = 1e-3
    surrogate_alpha: float = 100.0
    use_mim: bool = True
    use_rjlu: bool = True
    use_crm: bool = True
    snn: bool = True  # False: MLP (Linear → ReLU) instead of the spiking blocks
    use_egm: bool = True  # False: the visual features themselves drive the motion stream
    dynamic_threshold: bool = True
    use_triplet: bool = True
    use_projection_loss: bool = True
    use_reconstruction_loss: bool = True

    def __post_init__(self):
        super().__post_init__()
        if self.hidden % self.rjlu_chunks:
            raise ConfigError(f"hidden ({self.hidden}) must be divisible by rjlu_chunks ({self.rjlu_chunks})")
        if any(self.hidden % w for w in self.snn_widths):
            raise ConfigError(f"every snn width must divide hidden ({self.hidden}) so that AP pools exactly; "
                             f"got {self.snn_widths}")
        if self.egm_source not in ("input", "encoded"):
            raise ConfigError(f"egm_source {self.egm_source!r} is not 'input' or 'encoded'")
        if self.egm_source == "input" and self.video_dim != self.hidden:
            raise ConfigError(f"egm_source='input' needs video_dim == hidden (E_v has v_t's size, the seed), got "
                             f"{self.video_dim} and {self.hidden}; use egm_source='encoded'")
        if self.dab_reduce not in ("norm", "elementwise"):
            raise ConfigError(f"dab_reduce {self.dab_reduce!r} is not 'norm' or 'elementwise'")
        if not (0 < self.threshold_clamp[0] < 1 < self.threshold_clamp[1]):
            raise ConfigError(f"threshold_clamp {self.threshold_clamp} must satisfy 0 < low < 1 < high")

    @property
    def lif(self) -> LIFStepParams:
        return LIFStepParams(tau_syn_s=self.tau_syn_s, tau_mem_s=self.tau_mem_s, dt_s=self.dt_s,
                             surrogate_alpha=self.surrogate_alpha)


def _pool_to(x: torch.Tensor, width: int) -> torch.Tensor:
    """AP: average pooling of the feature axis (..., D) down to ``width`` (D divisible by width)."""
    return x.reshape(*x.shape[:-1], width, x.shape[-1] // width).mean(-1)


def _minmax(x: torch.Tensor, eps: float) -> torch.Tensor:
    lo, hi = x.amin(-1, keepdim=True), x.amax(-1, keepdim=True)
    return eps + (1 - eps) * (x - lo) / (hi - lo).clamp_min(1e-12)


class RJLU(nn.Module):
    def __init__(self, c: MDFTConfig):
        super().__init__()
        self.chunks = c.rjlu_chunks
        self.gate_sigmoid = c.rjlu_gate_sigmoid
        width = c.hidden // c.rjlu_chunks
        self.h0 = nn.Parameter(torch.zeros(c.hidden))
        self.ca_a = TransformerLayer(width, c.rjlu_heads, width // c.rjlu_heads, width, c.dropout_encoder, cross=True)
        self.ca_v = TransformerLayer(width, c.rjlu_heads, width // c.rjlu_heads, width, c.dropout_encoder, cross=True)
        self.sa = TransformerLayer(c.hidden, c.heads, c.dim_head, c.mlp_dim, c.dropout_encoder)
        self.mlp = FeedForward(c.hidden, c.mlp_dim, c.dropout_encoder)  # MLP(LN(·)); LN inside

    def _tokens(self, x):  # AP: a D-vector as `chunks` tokens of D / chunks
        return x.reshape(x.shape[0], self.chunks, -1)

    def forward(self, a, v, mask):
        """a, v (B, T, D) -> S (B, T, D) and the final joint knowledge h_T (B, D)."""
        h = self.h0.expand(a.shape[0], -1)
        s_all = []
        for t in range(a.shape[1]):
            c_a = self.ca_a(self._tokens(a[:, t]), context=self._tokens(h)).flatten(1)
            c_v = self.ca_v(self._tokens(v[:, t]), context=self._tokens(h)).flatten(1)
            sa = self.sa(torch.stack([a[:, t], h, v[:, t]], dim=1))  # (B, 3, D)
            s_t = (self.mlp(sa) + sa).mean(dim=1)
            g = torch.sigmoid(c_a + c_v) if self.gate_sigmoid else c_a + c_v
            h_new = g * h + (1 - g) * s_t
            valid = mask[:, t, None]
            h = torch.where(valid, h_new, h)
            s_all.append(s_t)
        return torch.stack(s_all, dim=1), h


class MDFT(ZSLModel):
    def __init__(self, cfg: MDFTConfig):
        super().__init__()
        self.cfg = c = cfg
        self.enc = nn.ModuleDict({"audio": EmbeddingNet(c.audio_dim, c.hidden, c.dropout_encoder, c.hidden, c.bn_momentum),
                                  "visual": EmbeddingNet(c.video_dim, c.hidden, c.dropout_encoder, c.hidden, c.bn_momentum)})
        self.rjlu = RJLU(c) if c.use_rjlu else None
        self.egm, self.dab = EGM(c.egm_contrast, c.egm_eps), DAB(c.dab_reduce)
        widths = [c.hidden, *c.snn_widths]
        if c.snn:
            self.snn = SpikingBranch({m: widths for m in CHAINS}, c.lif)
        else:
            self.mlp_branch = nn.ModuleDict({m: nn.ModuleList(nn.Linear(widths[i], widths[i + 1])
                                                              for i in range(len(c.snn_widths))) for m in CHAINS})
        self.spike_proj = nn.ModuleDict({m: nn.Linear(c.snn_widths[-1], c.hidden) for m in CHAINS})
        self.crm_ca = nn.ModuleDict({m: TransformerLayer(c.hidden, c.heads, c.dim_head, c.mlp_dim, c.dropout_encoder,
                                                         cross=True) for m in CHAINS})
        self.mhca = TransformerLayer(c.hidden, c.heads, c.dim_head, c.mlp_dim, c.dropout_encoder, cross=True)
        self.av_proj = EmbeddingNet(c.hidden, c.dim_out, c.dropout_decoder, c.decoder_hidden, c.bn_momentum)
        self.w_proj = EmbeddingNet(c.text_dim, c.dim_out, c.dropout_additional, c.decoder_hidden, c.bn_momentum)
        self.rec = EmbeddingNet(c.dim_out, c.text_dim, c.dropout_decoder, c.decoder_hidden, c.bn_momentum)

    # -- partition ------------------------------------------------------------------------------
    def _thresholds(self, s: torch.Tensor, events: torch.Tensor) -> list[torch.Tensor]:
        """Eq. 7 per layer width: θ_t = clamp((φ_t + ω_t) θ_{t−1}), θ_0 = threshold_base."""
        c, out = self.cfg, []
        for width in c.snn_widths:
            if not c.dynamic_threshold:
                out.append(torch.full((1, 1, width), c.threshold_base, device=s.device))
                continue
            s_w = _pool_to(s, width)  # AP to the layer width, (B, T, N)
            e_w = _pool_to(events.abs(), width)
            n = _minmax(s_w, c.norm_eps)
            phi = torch.sigmoid(s_w)
            omega = -n * torch.log((1 / n + e_w).clamp_min(c.norm_eps))
            lo, hi = (c.threshold_base * k for k in c.threshold_clamp)
            theta, steps = torch.full_like(s_w[:, 0], c.threshold_base), []
            for t in range(s.shape[1]):
                theta = ((phi[:, t] + omega[:, t]) * theta).clamp(lo, hi)
                steps.append(theta)
            out.append(torch.stack(steps, dim=1))
        return out

    def pre(self, clips: ClipBatch):
        c, mask = self.cfg, clips.mask
        a = self.enc["audio"](clips.audio, mask)  # (B, T, D)
        v = self.enc["visual"](clips.video, mask)
        if self.rjlu is not None:
            s, h = self.rjlu(a, v, mask)
        else:
            s, h = (a + v) / 2, torch.zeros_like(a[:, 0])
        visual = clips.video if c.egm_source == "input" else v
        e_v = self.egm(visual, mask) if c.use_egm else visual
        e_a = self.dab(a, e_v)
        thresholds = self._thresholds(s, e_v)
        snn_in = SnnInput({"audio": e_a, "visual": e_v}, {m: thresholds for m in CHAINS}, mask)
        return snn_in, {"a": a, "v": v, "h": h, "mask": mask}

    def _motion(self, snn_in: SnnInput) -> SnnOutput:
        if self.cfg.snn:
            return self.snn(snn_in)
        spikes = {}
        for m, layers in self.mlp_branch.items():
            x, out = snn_in.current[m], []
            for layer in layers:
                x = torch.relu(layer(x))
                out.append(x)
            spikes[m] = out
        return SnnOutput(spikes)

    def post(self, clips: ClipBatch, state, out: SnnOutput) -> list[torch.Tensor]:
        return [self._fused_embedding(state, out)]

    def _fused_embedding(self, state, out: SnnOutput | None) -> torch.Tensor:
        c, mask = self.cfg, state["mask"]
        m_t = {"audio": state["a"], "visual": state["v"]}
        if c.use_crm:
            p = {}
            for m in CHAINS:
                j = self.spike_proj[m](out.output(m)) if out is not None else torch.zeros_like(m_t[m])
                p[m] = self.crm_ca[m](m_t[m], context=m_t[m] * torch.sigmoid(j), key_mask=mask)  # P = MLP(LN(R)) + R
            context = torch.cat([p["audio"], state["h"][:, None, :]], dim=1)
            key_mask = torch.cat([mask, torch.ones_like(mask[:, :1])], dim=1)
            fused = masked_mean(self.mhca(p["visual"], context=context, key_mask=key_mask), mask)
        else:
            fused = masked_mean(m_t["audio"] + m_t["visual"], mask) + state["h"]
        return self.av_proj(fused)

    def partition(self) -> Partition:
        if not self.cfg.snn or not self.cfg.use_mim:
            raise ConfigError("this MDFT variant has no spiking branch (snn=false or use_mim=false): nothing to deploy")
        return Partition(self.pre, self.snn, self.post)

    # -- model interface ----------------------------------------------------------------------
    def clip_embeddings(self, clips: ClipBatch) -> list[torch.Tensor]:
        snn_in, state = self.pre(clips)
        out = self._motion(snn_in) if self.cfg.use_mim else None
        return [self._fused_embedding(state, out)]

    def class_embeddings(self, text: torch.Tensor) -> torch.Tensor:
        return self.w_proj(text)

    def forward(self, batch: TrainBatch):
        c = self.cfg
        (o_av,), (o_av_n,) = self.clip_embeddings(batch.pos), self.clip_embeddings(batch.neg)
        o_w = self.w_proj(batch.text)
        parts = {}
        if c.use_triplet:  # anchor O_w of the true class, positive O_av, negative O_av of another class
            parts["triplet"] = F.triplet_margin_loss(o_w, o_av, o_av_n, margin=c.margin)
        if c.use_projection_loss:
            parts["projection"] = F.mse_loss(o_av, o_w)
        if c.use_reconstruction_loss:
            parts["reconstruction"] = F.mse_loss(self.rec(o_av), batch.text)
        if not parts:
            raise ConfigError("every MDFT loss term is switched off")
        return sum(parts.values()), parts
