"""snnTorch as a test oracle: networks built as its documentation builds them, exported with its own
``export_to_nir``, read by neuro-av, and required to equal snnTorch's own forward pass (float64)
spike for spike on the reference and on Lava float. Where snnTorch's semantics and its export differ,
a test pins it."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from neuro_av.export.compile import compile_graph
from neuro_av.export.nir_graph import read_graph
from neuro_av.export.reference import simulate

from .peer_nets import DT, snntorch_conv_net, snntorch_dense_net, snntorch_forward, snntorch_recurrent_net, spikes

snntorch = pytest.importorskip("snntorch")


def _export(net, in_shape, path):
    import nir
    from snntorch.export_nir import export_to_nir

    nir.write(str(path), export_to_nir(net, torch.zeros(1, *in_shape), ignore_dims=[0]))
    graph, dt = read_graph(path, DT)
    return compile_graph(graph, dt)


def _compare(got: dict, peer: dict) -> None:
    for layer, spk in peer.items():
        name = layer if layer in got else f"{layer}.lif"  # RLeaky's neurons sit in its subgraph
        assert got[name].shape == spk.shape
        assert spk.any(), f"layer {layer} is silent: the comparison would say nothing"
        np.testing.assert_array_equal(got[name], spk, err_msg=f"layer {layer}")


CASES = [(snntorch_conv_net, (2, 8, 8), 0.4), (snntorch_dense_net, (6,), 0.3), (snntorch_recurrent_net, (6,), 0.3)]


def _equals_snntorch(tmp_path, build, in_shape, rate, clips, steps, seed, run):
    """``run(plan, x (B, T, N))`` gives snnTorch's own spikes on every layer."""
    plan = _export(build(), in_shape, tmp_path / "net.nir")
    x = spikes((clips, steps, *in_shape), rate, seed=seed)
    _compare(run(plan, x.reshape(clips, steps, -1)).spikes, snntorch_forward(build(), x))


IDS = ["conv-leaky-avgpool", "synaptic-leaky", "rleaky"]


@pytest.mark.parametrize("build,in_shape,rate", CASES, ids=IDS)
def test_reference_equals_snntorch(tmp_path, build, in_shape, rate):
    _equals_snntorch(tmp_path, build, in_shape, rate, 4, 24, 1, lambda plan, x: simulate(plan, {"input": x}))


@pytest.mark.lava
@pytest.mark.parametrize("build,in_shape,rate", CASES, ids=IDS)
def test_lava_float_equals_snntorch(tmp_path, build, in_shape, rate):
    from neuro_av.export.lava.network import run_plan

    _equals_snntorch(tmp_path, build, in_shape, rate, 3, 16, 2, lambda plan, x: run_plan(plan, {"input": x}))


def test_plan_and_sim_take_the_conv_graph(tmp_path, capsys):
    """`neuro-av plan` places snnTorch's conv network; `neuro-av sim --nir` runs it with torch-fixed."""
    import nir
    from snntorch.export_nir import export_to_nir

    from neuro_av.cli.main import main

    nir.write(str(tmp_path / "conv.nir"), export_to_nir(snntorch_conv_net(), torch.zeros(1, 2, 8, 8), ignore_dims=[0]))
    assert main(["plan", str(tmp_path / "conv.nir"), "--dt", str(DT), "--spike-input", "--json"]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert plan["network"]["neurons"] == 256 + 5 and plan["targets"]["loihi1"]["fits"]
    conv = next(p for p in plan["targets"]["loihi1"]["populations"] if p["name"] == "1")
    # the kernel's connections (30.25 per input neuron with padding 1 on 8 × 8) and 256 biases are
    # stored, not the composed 256 × 128 matrix and its bias column (33,024)
    assert conv["synapses"] == 128 * 121 // 4 + 256
    np.save(tmp_path / "x.npy", spikes((2, 12, 128), 0.4, seed=0))
    assert main(["sim", "--nir", str(tmp_path / "conv.nir"), "--input", str(tmp_path / "x.npy"), "--dt", str(DT),
                 "--backend", "reference", "--backend", "torch-fixed", "--out", str(tmp_path / "sim"),
                 "--no-progress"]) == 0
    report = json.loads((tmp_path / "sim" / "report.json").read_text())
    assert set(report["backends"]) == {"reference", "torch-fixed"}
    assert report["backends"]["torch-fixed"]["fidelity"]["layers"]["1"]["rate_ref"] > 0
    # a synaptic event per stored (non-zero) synapse, as NeuroBench's effective ACs count them: the conv's
    # composed 256 × 128 matrix holds at most 4·3·3 = 36 weights per input axon, not 256
    ref = report["backends"]["reference"]
    assert ref["totals"]["synops"] == pytest.approx(ref["totals"]["effective_acs"])
    conv = ref["spikes"]["1"]
    assert conv["synops"] <= 36 * (2 * 12 * 128 * 0.4 * 1.2) / 2 and conv["dense_macs"] <= 36 * 128 * 12


def test_conv_plan_keeps_what_the_synapses_were(tmp_path):
    plan = _export(snntorch_conv_net(), (2, 8, 8), tmp_path / "net.nir")
    first, second = plan.synapses
    assert [o["type"] for o in first.ops] == ["Conv2d"] and first.ops[0]["kernel_weights"] == 4 * 2 * 3 * 3
    assert [o["type"] for o in second.ops] == ["AvgPool2d", "Flatten", "Affine"]
    assert plan.populations["1"].shape == (4, 8, 8) and first.weight.shape == (256, 128)


def test_pin_snntorch_synaptic_default_reset_is_a_refractory_step(tmp_path):
    """snnTorch 1.0's Synaptic (and RLeaky) with reset_mechanism='zero' and the default reset_delay=True
    zero the membrane on the step *after* a spike, that step's input included; NIR's CubaLIF (and its
    export) resets at the spike and integrates the next input. Leaky's zero reset matches NIR."""
    plan = _export(snntorch_dense_net(reset_delay=True), (6,), tmp_path / "net.nir")
    x = spikes((4, 24, 6), 0.3, seed=1)
    ref = simulate(plan, {"input": x})
    peer = snntorch_forward(snntorch_dense_net(reset_delay=True), x)
    assert (ref.spikes["1"] != peer["1"]).any()
    assert ref.spikes["1"].sum() > peer["1"].sum()  # the peer's extra silent step after every spike


def test_pin_snntorch_exports_subtractive_reset_as_zero_reset(tmp_path):
    """NIR cannot express reset by subtraction (snnTorch's default): the export writes v_reset = 0,
    so the exported network differs from the trained one."""
    plan = _export(snntorch_conv_net(reset="subtract"), (2, 8, 8), tmp_path / "net.nir")
    assert all((p.v_reset == 0).all() for p in plan.populations.values())
    x = spikes((4, 24, 2, 8, 8), 0.4, seed=1)
    ref = simulate(plan, {"input": x.reshape(4, 24, -1)})
    peer = snntorch_forward(snntorch_conv_net(reset="subtract"), x)
    assert any((ref.spikes[k] != peer[k]).any() for k in peer)
