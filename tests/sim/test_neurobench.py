"""report.json's ``neurobench`` block against the ``neurobench`` package itself: an snnTorch network
(tests/peers, equal to neuro-av's reference spike for spike) exported with snnTorch's own
``export_to_nir``, simulated by ``simulate_nir``, and measured by NeuroBench's ``Benchmark`` on the
same input. ``neurobench`` is installed without its dependencies (tools/bootstrap.py): the metric
modules need only torch and snnTorch, not tonic or torchaudio."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from peers.peer_nets import DT, snntorch_conv_net, snntorch_dense_net, spikes

snntorch = pytest.importorskip("snntorch")
neurobench = pytest.importorskip("neurobench", reason="neurobench is not installed (tools/bootstrap.py installs it "
                                 "with --no-deps)")


def _pruned_dense_net():
    net = snntorch_dense_net(reset_delay=False)
    with torch.no_grad():  # zero weights: ConnectionSparsity and the effective counts must see them
        net[0].weight[:, ::3] = 0.0
        net[2].weight[1] = 0.0
    return net


def _ours(net, x: np.ndarray, in_shape, tmp_path) -> dict:
    from snntorch.export_nir import export_to_nir

    from neuro_av.sim.foreign import simulate_nir

    graph = export_to_nir(net, torch.zeros(1, *in_shape), ignore_dims=[0])
    simulate_nir(graph, x.reshape(x.shape[0], x.shape[1], -1), tmp_path / "sim", backends=("reference",), dt_s=DT,
                 log=lambda *_: None)
    return json.loads((tmp_path / "sim" / "report.json").read_text())["neurobench"]


def _neurobench(net, x: np.ndarray) -> dict:
    """NeuroBench's Benchmark on ``net`` in float64 (as the peers' oracle runs it: snnTorch's spike
    functions return float32, so every module's input is cast first; these hooks run before
    NeuroBench's, which then record the cast inputs)."""
    from neurobench.benchmarks import Benchmark
    from neurobench.metrics.static import ConnectionSparsity, Footprint
    from neurobench.metrics.workload import ActivationSparsity, MembraneUpdates, SynapticOperations
    from neurobench.models import SNNTorchModel, TorchModel

    connections = torch.nn.Sequential(*[m for m in net if isinstance(m, (torch.nn.Linear, torch.nn.Conv2d))])
    static = {"Footprint": Footprint()(TorchModel(connections)), "ConnectionSparsity": ConnectionSparsity()(
        TorchModel(connections))}
    net = net.double().eval()
    for m in net.modules():
        if m is not net:
            m.register_forward_pre_hook(lambda mod, args: tuple(a.double() if torch.is_tensor(a) else a for a in args))
    data = torch.utils.data.TensorDataset(torch.from_numpy(x), torch.zeros(len(x)))
    bench = Benchmark(SNNTorchModel(net), torch.utils.data.DataLoader(data, batch_size=len(x)), [], [],
                      [[], [ActivationSparsity, SynapticOperations, MembraneUpdates]])
    with torch.no_grad():
        return {**static, **bench.run(quiet=True)}


@pytest.mark.parametrize("graded", [False, True], ids=["spike-input", "graded-input"])
def test_dense_network_equals_neurobench(tmp_path, graded):
    x = spikes((4, 24, 6), 0.4, seed=3)
    if graded:  # graded values: NeuroBench counts the first layer as MACs
        x = x * np.random.default_rng(4).uniform(0.5, 1.5, x.shape)
    ours = _ours(_pruned_dense_net(), x, (6,), tmp_path)
    theirs = _neurobench(_pruned_dense_net(), x)
    work = ours["workload"]["reference"]
    nb_ops = theirs["SynapticOperations"]
    assert nb_ops["Effective_ACs"] > 0 and nb_ops["Dense"] > 0  # NeuroBench turns a metric's error into 0.0
    assert work["SynapticOperations"]["Effective_ACs"] == pytest.approx(nb_ops["Effective_ACs"], rel=1e-12)
    assert work["SynapticOperations"]["Effective_MACs"] == pytest.approx(nb_ops["Effective_MACs"], rel=1e-12)
    assert (nb_ops["Effective_MACs"] > 0) == graded
    assert work["SynapticOperations"]["Dense"] == pytest.approx(nb_ops["Dense"], rel=1e-12)
    assert 0 < theirs["ActivationSparsity"] < 1
    assert work["ActivationSparsity"] == pytest.approx(theirs["ActivationSparsity"], abs=1e-12)
    # ours is neurons × steps, NeuroBench's bound: it counts only the updates that change a membrane
    assert work["MembraneUpdates_dense"] == (10 + 4) * 24
    assert work["MembraneUpdates_dense"] >= theirs["MembraneUpdates"] > 0.5 * work["MembraneUpdates_dense"]
    static = ours["static"]
    assert static["per_layer_as_neurobench"] and static["ConnectionSparsity"] > 0
    assert static["ConnectionSparsity"] == pytest.approx(theirs["ConnectionSparsity"], abs=1e-4)  # theirs: 4 decimals
    assert static["Footprint"] == theirs["Footprint"]


def test_conv_network_static_metrics_and_activation_sparsity_equal_neurobench(tmp_path):
    """Through Conv2d and AvgPool2d the synapses are composed matrices (``per_layer_as_neurobench`` is
    False), but sparsities and the footprint are NeuroBench's."""
    x = spikes((3, 16, 2, 8, 8), 0.4, seed=5)
    ours = _ours(snntorch_conv_net(), x, (2, 8, 8), tmp_path)
    theirs = _neurobench(snntorch_conv_net(), x)
    assert not ours["static"]["per_layer_as_neurobench"]
    assert ours["workload"]["reference"]["ActivationSparsity"] == pytest.approx(theirs["ActivationSparsity"], abs=1e-12)
    assert ours["static"]["Footprint"] == theirs["Footprint"]
    assert ours["static"]["ConnectionSparsity"] == pytest.approx(theirs["ConnectionSparsity"], abs=1e-4)
