"""The partition contract every spiking model keeps: ``model.partition() -> Partition(pre, snn, post)``.

- ``pre(clips) -> (SnnInput, pre_state)``: everything before the spiking branch, including the
  dynamic threshold schedule (computed on the host and streamed in);
- ``snn(SnnInput) -> SnnOutput``: only Linear synapses and LIF neurons (static or dynamic threshold),
  T steps, state carried across the steps of a clip and reset between clips;
- ``post(clips, pre_state, SnnOutput) -> list of clip embeddings``.

``post(clips, *pre(clips) ▷ snn)`` equals ``model.clip_embeddings(clips)`` exactly (tested): the model
itself is written as these three parts. A spiking branch may hold several independent chains (one
per modality), each a list of Linear → LIF layers.
"""
from __future__ import annotations

from typing import Any, Callable, NamedTuple

import torch
from torch import nn

from neuro_av.functional.lif import LIFStepParams
from neuro_av.models.spiking import DynamicThresholdLIF


class SnnInput(NamedTuple):
    current: dict[str, torch.Tensor]  # chain -> (B, T, N_in) graded input of its first Linear
    thresholds: dict[str, list[torch.Tensor]]  # chain -> per layer, broadcastable to (B, T, N_l)
    mask: torch.Tensor  # (B, T) bool


class SnnOutput(NamedTuple):
    spikes: dict[str, list[torch.Tensor]]  # chain -> per layer (B, T, N_l)

    def output(self, chain: str) -> torch.Tensor:
        return self.spikes[chain][-1]


class Partition(NamedTuple):
    pre: Callable[[Any], tuple[SnnInput, Any]]
    snn: "SpikingBranch"
    post: Callable[[Any, Any, SnnOutput], list[torch.Tensor]]


class SpikingBranch(nn.Module):
    """Independent chains of Linear → dynamic-threshold LIF layers (what goes to NIR and Lava).

    ``fixed_point``: None (float LIF, as trained by ``neuro-av train``), or a
    :class:`neuro_av.functional.loihi_fixed.FixedForward` that runs the branch in Loihi's fixed-point
    arithmetic from the same weights (a run made by ``neuro-av finetune``)."""

    fixed_point = None

    def __init__(self, widths: dict[str, list[int]], lif: LIFStepParams):
        super().__init__()
        self.lif_params = lif
        self.chains = nn.ModuleDict({
            name: nn.ModuleList(nn.Linear(w[i], w[i + 1]) for i in range(len(w) - 1)) for name, w in widths.items()})
        self.neurons = DynamicThresholdLIF(lif)

    def forward(self, x: SnnInput) -> SnnOutput:
        if self.fixed_point is not None:
            return SnnOutput(self.fixed_point(self, x))
        spikes = {}
        for name, layers in self.chains.items():
            h, out = x.current[name], []
            for layer, theta in zip(layers, x.thresholds[name]):
                h = self.neurons(layer(h), theta, x.mask)  # (B, T, N_l)
                out.append(h)
            spikes[name] = out
        return SnnOutput(spikes)

    def synaptic_ops(self, x: SnnInput, out: SnnOutput) -> dict[str, float]:
        """Per clip: dense MACs of the graded first layer, accumulate ops (spikes × fan-out) after it."""
        mask = x.mask.detach().to(torch.float32)
        n = max(float(mask.shape[0]), 1.0)
        macs = acs = 0.0
        steps = float(mask.sum())
        for name, layers in self.chains.items():
            macs += steps * layers[0].in_features * layers[0].out_features / n
            for layer, s_in in zip(layers[1:], out.spikes[name][:-1]):
                acs += float((s_in.detach() * mask.unsqueeze(-1)).sum()) * layer.out_features / n
        return {"first_layer_macs": macs, "synops": acs}
