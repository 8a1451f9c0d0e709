"""sinabs, Rockpool and Spyx-style graphs: read as their exporters write them (with a notice for each
repair) instead of refused; sinabs' own forward pass as the oracle where its semantics match NIR's."""
from __future__ import annotations

import nir
import numpy as np
import pytest
import torch

from neuro_av.export.compile import compile_graph
from neuro_av.export.nir_graph import read_graph
from neuro_av.export.reference import simulate

from .peer_nets import spikes


def _sinabs_net(batch: int):
    import sinabs.layers as sl
    from sinabs.activation import MembraneReset, SingleSpike

    torch.manual_seed(0)
    iaf = dict(batch_size=batch, spike_fn=SingleSpike, reset_fn=MembraneReset(), spike_threshold=0.5)
    return torch.nn.Sequential(torch.nn.Conv2d(2, 4, 3, padding=1, bias=False), sl.IAFSqueeze(**iaf), sl.SumPool2d(2),
                               torch.nn.Flatten(), torch.nn.Linear(64, 5, bias=False), sl.IAFSqueeze(**iaf))


def test_sinabs_sumpool_network_equals_sinabs(tmp_path):
    pytest.importorskip("sinabs")
    from sinabs.nir import to_nir

    batch, steps = 2, 12
    graph = to_nir(_sinabs_net(batch), torch.rand(batch, 2, 8, 8))
    with pytest.raises(TypeError):  # pinned: sinabs leaves Flatten's input_type None, which nir.write cannot store
        nir.write(str(tmp_path / "raw.nir"), graph)
    plan = compile_graph(graph, 1e-3)
    assert any("Conv2d" in n and "input_shape" in n for n in plan.notices)
    assert any("Flatten" in n for n in plan.notices)
    nir.write(str(tmp_path / "repaired.nir"), graph)  # the repaired graph is writable
    x = spikes((batch, steps, 2, 8, 8), 0.4, seed=0)
    ref = simulate(plan, {"input": x.reshape(batch, steps, -1)})
    net = _sinabs_net(batch).double()
    seen = {}
    for i, m in enumerate(net):
        m.register_forward_pre_hook(lambda mod, a: tuple(t.double() for t in a))  # sinabs spikes are float32
        if type(m).__name__ == "IAFSqueeze":
            m.register_forward_hook(lambda mod, a, out, i=i: seen.__setitem__(str(i), out.detach()))
    with torch.no_grad():
        net(torch.from_numpy(x.reshape(batch * steps, 2, 8, 8)))
    for layer, out in seen.items():
        peer = out.reshape(batch, steps, -1).numpy()
        assert peer.any()
        np.testing.assert_array_equal(ref.spikes[layer], peer, err_msg=layer)


def test_rockpool_file_is_read_with_notices(tmp_path):
    pytest.importorskip("rockpool")
    from rockpool.nn.combinators import Sequential
    from rockpool.nn.modules import LIFTorch, LinearTorch
    from rockpool.nn.modules.torch.nir import to_nir

    torch.manual_seed(0)
    nir.write(str(tmp_path / "rp.nir"), to_nir(Sequential(LinearTorch((3, 4)), LIFTorch(4, dt=1e-3),
                                                           LinearTorch((4, 2)), LIFTorch(2, dt=1e-3))))
    with pytest.raises(ValueError, match="type mismatch"):  # what nir.read says of Rockpool's own file
        nir.read(str(tmp_path / "rp.nir"))
    graph, dt = read_graph(tmp_path / "rp.nir", 1e-3)
    plan = compile_graph(graph, dt)
    assert any("batch dimension" in n for n in plan.notices)
    assert plan.inputs == {"input": 3} and [p.size for p in plan.populations.values()] == [4, 2]


def _spyx_style_graph() -> nir.NIRGraph:
    """An RNN the way Spyx 1.0's ``_create_rnn_subgraph`` writes it: the LIF and its recurrent weight in
    a nested graph whose inner names already carry the outer name, the outer Input feeding w_rec."""
    rng = np.random.default_rng(0)
    lif = nir.CubaLIF(tau_syn=np.full(5, 2e-3), tau_mem=np.full(5, 4e-3), r=np.ones(5), v_leak=np.zeros(5),
                      v_threshold=np.full(5, 0.2), v_reset=np.zeros(5), w_in=np.full(5, 2.0))
    sub = nir.NIRGraph(nodes={"rnn.lif": lif, "rnn.w_rec": nir.Linear(weight=rng.normal(0, 0.3, (5, 5))),
                              "rnn.input": nir.Input(np.array([5])), "rnn.output": nir.Output(np.array([5]))},
                       edges=[("rnn.lif", "rnn.w_rec"), ("rnn.w_rec", "rnn.lif"), ("rnn.lif", "rnn.output"),
                              ("rnn.input", "rnn.w_rec")], type_check=False)
    return nir.NIRGraph(nodes={"input": nir.Input(np.array([3])), "fc": nir.Affine(weight=rng.normal(0, 1, (5, 3)),
                                                                                  bias=np.zeros(5)),
                               "rnn": sub, "output": nir.Output(np.array([5]))},
                        edges=[("input", "fc"), ("fc", "rnn"), ("rnn", "output")], type_check=False)


def test_spyx_style_nested_recurrent_graph(tmp_path):
    nir.write(str(tmp_path / "spyx.nir"), _spyx_style_graph())
    graph, dt = read_graph(tmp_path / "spyx.nir", 1e-3)
    plan = compile_graph(graph, dt)
    assert any("nested graph rnn" in n for n in plan.notices)
    assert list(plan.populations) == ["rnn.lif"]
    rec = [s for s in plan.synapses if s.recurrent]
    ff = [s for s in plan.synapses if not s.recurrent]
    assert [(s.src, s.dst) for s in rec] == [("rnn.lif", "rnn.lif")]
    # Spyx routes the outer input through w_rec too: the feed-forward weight is w_rec · W_fc
    w_fc, w_rec = graph.nodes["fc"].weight, graph.nodes["rnn"].nodes["rnn.w_rec"].weight
    gain = (1e-3 / 4e-3) * (1e-3 / 2e-3) * 2.0  # α·r·β·w_in folded into the Dense
    np.testing.assert_allclose(ff[0].weight, gain * (w_rec @ w_fc), rtol=1e-12)
    x = np.random.default_rng(1).normal(0, 1, (2, 30, 3))
    ref = simulate(plan, {"input": x})
    assert ref.spikes["rnn.lif"].any()


def test_simulate_nir_takes_sinabs_graph_object(tmp_path):
    """The Python API runs the graph object sinabs' to_nir returned, repairs printed as notices."""
    pytest.importorskip("sinabs")
    import json

    from sinabs.nir import to_nir

    from neuro_av.sim.foreign import simulate_nir

    printed = []
    graph = to_nir(_sinabs_net(2), torch.rand(2, 2, 8, 8))
    x = spikes((2, 12, 128), 0.4, seed=0)
    paths = simulate_nir(graph, x, tmp_path / "sim", backends=("reference", "torch-fixed"), dt_s=1e-3,
                         source="sinabs graph", log=printed.append)
    report = json.loads(paths["json"].read_text())
    assert any("Flatten" in n for n in report["notices"]) and any("notice" in line for line in printed)
    assert report["backends"]["reference"]["fidelity"]["dice"] == 1.0
    assert report["backends"]["reference"]["totals"]["spikes"] > 0


def test_silent_rockpool_layer_is_explained():
    """Rockpool writes w_in = 1 with exponential decays: read as NIR says, its second layer never
    fires on this input, and the warning says what the parameters look like."""
    pytest.importorskip("rockpool")
    from rockpool.nn.combinators import Sequential
    from rockpool.nn.modules import LIFTorch, LinearTorch
    from rockpool.nn.modules.torch.nir import to_nir

    from neuro_av.export.plan import static_streams
    from neuro_av.export.silence import silence_hints

    torch.manual_seed(0)
    graph = to_nir(Sequential(LinearTorch((3, 4)), LIFTorch(4, dt=1e-3), LinearTorch((4, 2)), LIFTorch(2, dt=1e-3)))
    plan = compile_graph(graph, 1e-3)
    x = spikes((2, 50, 3), 0.5, seed=0)
    streams = static_streams(plan, {"input": x})
    ref = simulate(plan, *streams)
    assert ref.spikes["1_LIFTorch"].any() and not ref.spikes["3_LIFTorch"].any()
    (hint,) = silence_hints(plan, ref, streams)
    assert hint.startswith("layer 3_LIFTorch never fired") and "w_in = 1" in hint and "Rockpool" in hint
