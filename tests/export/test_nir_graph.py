"""Spiking branch → NIR: round trip with explicit τ / shape / dtype checks, and Norse ≡ NIR oracle."""
import json

import nir
from neuro_av.export.lava.plan import plan_from_nir
import numpy as np
import pytest
import torch
from export_fixtures import branch_through_nir, clip_streams, random_clips, small_model
from neuro_av.export.nir_graph import (
    NIRExportError,
    read_graph,
    snn_to_nir,
    write_graph,
)
from neuro_av.export.nir_semantics import simulate


def test_round_trip_keeps_time_constants_shapes_dtypes_and_metadata(tmp_path):
    model = small_model("stft")
    graph = snn_to_nir(model.snn, model.cfg.threshold_base, True, {"model": "stft"})
    write_graph(graph, tmp_path / "snn.nir")
    back, dt = read_graph(tmp_path / "snn.nir")
    assert dt == pytest.approx(1e-3)
    assert set(back.nodes) == set(graph.nodes) and sorted(back.edges) == sorted(graph.edges)
    lif = back.nodes["audio.lif0"]
    assert isinstance(lif, nir.CubaLIF)
    for field, value in (("tau_syn", 2e-3), ("tau_mem", 2e-3), ("r", 1.0), ("v_threshold", 0.25), ("w_in", 2.0)):
        arr = getattr(lif, field)
        assert arr.shape == (24,) and arr.dtype == np.float32, field
        np.testing.assert_allclose(arr, value, rtol=1e-6, err_msg=field)
    fc = back.nodes["visual.fc1"]
    np.testing.assert_array_equal(fc.weight, model.snn.chains["visual"][1].weight.detach().numpy())
    np.testing.assert_array_equal(fc.bias, model.snn.chains["visual"][1].bias.detach().numpy())
    assert lif.metadata["threshold_input"] == "audio.lif0.threshold"
    assert back.metadata["reset"] == "zero" and json.loads(back.metadata["config"]) == {"model": "stft"}


def test_norse_branch_and_nir_oracle_agree_spike_for_spike(tmp_path):
    model = small_model("stft").double()
    snn_in, out, graph, dt = branch_through_nir(model, random_clips(3, dtype=torch.float64), tmp_path)
    ref = simulate(graph, dt, *clip_streams(snn_in))
    total = 0
    for chain, layers in out.spikes.items():
        for i, spikes in enumerate(layers):
            np.testing.assert_array_equal(ref[f"{chain}.lif{i}"], spikes.numpy())
            total += int(spikes.sum())
    assert 0 < total


def test_foreign_graphs_need_dt_and_supported_nodes(tmp_path, shared_data):
    lif = shared_data / "nir-paper" / "01_lif" / "lif_norse.nir"
    with pytest.raises(NIRExportError, match="does not record its time step: pass dt explicitly"):
        read_graph(lif)
    graph, dt = read_graph(lif, dt_s=1e-4)
    assert dt == 1e-4 and isinstance(graph.nodes["1"], nir.LIF)
    braille, _ = read_graph(shared_data / "nir-paper" / "03_rnn" / "braille_noDelay_bias_zero.nir", dt_s=1e-4)
    assert ("lif1.w_rec", "lif1.lif") in braille.edges  # recurrent edge kept
    odd = nir.NIRGraph(nodes={"input": nir.Input(np.array([2])), "d": nir.Delay(np.ones(2)),
                              "output": nir.Output(np.array([2]))}, edges=[("input", "d"), ("d", "output")])
    nir.write(str(tmp_path / "odd.nir"), odd)
    graph, dt = read_graph(tmp_path / "odd.nir", dt_s=1e-3)
    with pytest.raises(NIRExportError, match=r"unsupported NIR node\(s\) d \(Delay\)"):
        plan_from_nir(graph, dt)
