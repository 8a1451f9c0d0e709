"""Parameter counts, per-clip MACs of the ANN parts and synaptic operations of the spiking part.

MACs are counted with forward hooks on ``nn.Linear`` (rows × in × out; attention score and mixing
products are added per attention call), outside the spiking branch; the spiking branch reports
its graded first-layer MACs and its accumulate operations (spikes × fan-out) from a real forward.
"""
from __future__ import annotations

import torch
from torch import nn

from neuro_av.models.base import ClipBatch
from neuro_av.models.blocks import Attention


def cost_report(model, clips: ClipBatch) -> dict:
    n_clips = clips.audio.shape[0]
    snn_linears = set()
    if hasattr(model, "partition"):
        try:
            snn_linears = {id(m) for m in model.partition().snn.modules() if isinstance(m, nn.Linear)}
        except ValueError:  # a variant without a spiking branch
            pass
    macs = {"ann": 0.0}

    def linear_hook(mod, inp, out):
        if id(mod) not in snn_linears:
            macs["ann"] += inp[0].numel() * mod.out_features  # rows × in × out

    def attn_hook(mod, inp, out):
        q_len = inp[0].shape[1]
        kv_len = inp[1].shape[1] if len(inp) > 1 and inp[1] is not None else q_len
        macs["ann"] += 2 * inp[0].shape[0] * q_len * kv_len * mod.heads * mod.dim_head

    handles = [m.register_forward_hook(linear_hook) for m in model.modules() if isinstance(m, nn.Linear)]
    handles += [m.register_forward_hook(attn_hook) for m in model.modules() if isinstance(m, Attention)]
    model.eval()
    try:
        with torch.no_grad():
            spiking = {}
            if snn_linears:
                pre, snn, post = model.partition()
                snn_in, state = pre(clips)
                out = snn(snn_in)
                post(clips, state, out)
                spiking = snn.synaptic_ops(snn_in, out)
                spiking["firing_rate"] = {f"{c}/{i}": float(s.mean()) for c, layers in out.spikes.items()
                                          for i, s in enumerate(layers)}
            else:
                model.clip_embeddings(clips)
    finally:
        for h in handles:
            h.remove()
    return {"parameters": sum(p.numel() for p in model.parameters()),
            "ann_macs_per_clip": macs["ann"] / n_clips, **{f"snn_{k}": v for k, v in spiking.items()}}
