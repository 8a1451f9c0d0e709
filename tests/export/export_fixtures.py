"""Small partitioned models and their spiking branch as a NIR graph, for the export tests."""
from __future__ import annotations

from pathlib import Path

import torch
from neuro_av.export.nir_graph import read_graph, snn_to_nir, write_graph

from neuro_av.models.base import ClipBatch
from neuro_av.models.registry import build_model, make_config

SMALL = {"stft": {"snn_widths": (24, 16), "token_dim": 32, "heads": 2, "dim_head": 16, "tucker_scales": (8,),
                  "tucker_rank": 2, "encoder_hidden": 48, "decoder_hidden": 48, "slots": 4},
         "mdft": {"hidden": 64, "snn_widths": (16, 16, 16), "heads": 2, "dim_head": 32, "mlp_dim": 64,
                  "rjlu_chunks": 4, "rjlu_heads": 2, "decoder_hidden": 64, "egm_source": "encoded"}}


def small_model(name: str = "stft", seed: int = 3):
    torch.manual_seed(seed)
    return build_model(name, make_config(name, "SynthAV", SMALL[name])).eval()


def biased_model(name: str = "stft", seed: int = 3):
    """:func:`small_model` in float64 with non-zero biases (uniform in ±0.2), so the bias path is exercised."""
    model = small_model(name, seed).double()
    with torch.no_grad():
        for layers in model.snn.chains.values():
            for layer in layers:
                layer.bias.uniform_(-0.2, 0.2)
    return model


def random_clips(batch: int, steps: int = 8, seed: int = 0, dtype=torch.float32) -> ClipBatch:
    g = torch.Generator().manual_seed(seed)
    return ClipBatch(torch.randn(batch, steps, 512, generator=g, dtype=dtype),
                     torch.randn(batch, steps, 512, generator=g, dtype=dtype), torch.ones(batch, steps, dtype=torch.bool))


def branch_through_nir(model, clips: ClipBatch, folder: Path):
    """Run pre and the Norse branch on ``clips``; write + read the branch's NIR graph.

    Returns (snn_in, Norse SnnOutput, graph, dt)."""
    pre, snn, _ = model.partition()
    with torch.no_grad():
        snn_in, _ = pre(clips)
        out = snn(snn_in)
    write_graph(snn_to_nir(snn, model.cfg.threshold_base, True), Path(folder) / "snn.nir")
    graph, dt = read_graph(Path(folder) / "snn.nir")
    return snn_in, out, graph, dt


def clip_streams(snn_in, clip: int | None = None) -> tuple[dict, dict]:
    """The NIR graph's input currents and threshold streams (one clip, or the batch)."""
    pick = (lambda t: t[clip].numpy()) if clip is not None else (lambda t: t.numpy())
    currents = {f"{c}.input": pick(snn_in.current[c]) for c in snn_in.current}
    thresholds = {f"{c}.lif{i}.threshold": pick(th) for c, ths in snn_in.thresholds.items() for i, th in enumerate(ths)}
    return currents, thresholds
