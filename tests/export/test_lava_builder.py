"""NIR → Lava float: spike for spike equal to the Norse branch after the Dense-delay alignment."""
import pytest
import torch

from export_fixtures import branch_through_nir, clip_streams, random_clips, small_model
from neuro_av.export.lava_builder import run_float

pytestmark = pytest.mark.lava


def test_norse_and_lava_float_agree_on_every_spike_bin(tmp_path):
    model = small_model("stft").double()
    with torch.no_grad():  # non-zero biases, so the bias path is exercised
        for layers in model.snn.chains.values():
            for layer in layers:
                layer.bias.uniform_(-0.2, 0.2)
    snn_in, out, graph, dt = branch_through_nir(model, random_clips(2, dtype=torch.float64), tmp_path)
    bins = agree = 0
    for clip in range(2):
        lava = run_float(graph, dt, *clip_streams(snn_in, clip))
        for chain, layers in out.spikes.items():
            for i, spikes in enumerate(layers):
                norse = spikes[clip].numpy()
                bins += norse.size
                agree += int((lava[f"{chain}.lif{i}"] == norse).sum())
                assert 0 < norse.sum() < norse.size
    assert agree == bins, f"{bins - agree} of {bins} spike bins differ"
