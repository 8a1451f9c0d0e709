"""NIR → Lava float: spike for spike equal to the Norse branch after the Dense-delay alignment."""
import numpy as np
import pytest
import torch

from neuro_av.export.lava_builder import run_float
from neuro_av.export.nir_graph import read_graph, snn_to_nir, write_graph
from neuro_av.models.base import ClipBatch
from neuro_av.models.registry import build_model, make_config

pytestmark = pytest.mark.lava

SMALL_STFT = {"snn_widths": (24, 16), "token_dim": 32, "heads": 2, "dim_head": 16, "tucker_scales": (8,),
              "tucker_rank": 2, "encoder_hidden": 48, "decoder_hidden": 48, "slots": 4}


def test_norse_and_lava_float_agree_on_every_spike_bin(tmp_path):
    torch.manual_seed(3)
    model = build_model("stft", make_config("stft", "SynthAV", SMALL_STFT)).eval().double()
    with torch.no_grad():  # non-zero biases, so the bias path is exercised
        for layers in model.snn.chains.values():
            for layer in layers:
                layer.bias.uniform_(-0.2, 0.2)
    g = torch.Generator().manual_seed(0)
    x = ClipBatch(torch.randn(2, 8, 512, generator=g, dtype=torch.float64),
                  torch.randn(2, 8, 512, generator=g, dtype=torch.float64), torch.ones(2, 8, dtype=torch.bool))
    pre, snn, _ = model.partition()
    with torch.no_grad():
        snn_in, _ = pre(x)
        out = snn(snn_in)
    write_graph(snn_to_nir(snn, model.cfg.threshold_base, True), tmp_path / "snn.nir")
    graph, dt = read_graph(tmp_path / "snn.nir")
    bins = agree = 0
    for clip in range(2):
        currents = {f"{c}.input": snn_in.current[c][clip].numpy() for c in snn_in.current}
        thresholds = {f"{c}.lif{i}.threshold": th[clip].numpy()
                      for c, ths in snn_in.thresholds.items() for i, th in enumerate(ths)}
        lava = run_float(graph, dt, currents, thresholds)
        for chain, layers in out.spikes.items():
            for i, spikes in enumerate(layers):
                norse = spikes[clip].numpy()
                bins += norse.size
                agree += int((lava[f"{chain}.lif{i}"] == norse).sum())
                assert 0 < norse.sum() < norse.size
    assert agree == bins, f"{bins - agree} of {bins} spike bins differ"
