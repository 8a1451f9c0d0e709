"""torch-fixed is Lava's bit-accurate arithmetic: spike for spike and state for state equal to the
NumPy oracle of Lava's fixed_pt models and to lava-fixed itself — on random graphs with per-neuron
parameters, recurrence, read-outs and forced 24-bit wraps, on the STFT and MDFT branches, the NIR
paper's graphs and a convolutional graph."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from export_fixtures import biased_model, branch_through_nir, clip_streams, random_clips
from neuro_av.export.lava.fixed_point import FixedNeurons, FixedPlan, FixedSynapse, quantise, quantise_on_input
from neuro_av.export.lava.oracle import run_fixed_plan
from neuro_av.export.plan import Plan, Population, Synapse
from neuro_av.export.torch_fixed import run_fixed_torch

from neuro_av.export.compile import compile_graph
from neuro_av.export.nir_graph import read_graph


def _random_fixed(seed: int, wraps: bool, recurrence: str = "self") -> FixedPlan:
    """input → l0 (per-neuron decays/thresholds/resets) → l1 → r (read-out), integers drawn so that,
    with ``wraps``, the 24-bit current wraps and the voltage saturates. ``recurrence``: "self" (l0 → l0),
    "back" (l1 → l0: populations advance step by step together) or "none"."""
    rng = np.random.default_rng(seed)
    sizes = {"l0": 12, "l1": 7, "r": 3}
    pops = {n: Population(n, k, d, np.zeros(k), np.zeros(k), np.zeros(k), np.ones(k), np.zeros(k), np.zeros(k),
                          spiking=(n != "r")) for (n, k), d in zip(sizes.items(), (1, 2, 3))}
    syns = [Synapse("fc0", "in", "l0", np.zeros((12, 5)), np.zeros(12), True),
            Synapse("fc1", "l0", "l1", np.zeros((7, 12)), np.zeros(7), False),
            Synapse("fc2", "l1", "r", np.zeros((3, 7)), np.zeros(3), False)]
    if recurrence != "none":
        src = "l0" if recurrence == "self" else "l1"
        syns.insert(1, Synapse("rec", src, "l0", np.zeros((12, sizes[src])), np.zeros(12), False, recurrent=True))
    plan = Plan(1e-3, {"in": 5}, pops, syns)
    exp = 6 if wraps else -1
    weights = {s.name: FixedSynapse(rng.integers(-127, 127, s.weight.shape) * 2, exp if s.name == "fc0" else 0,
                                    rng.integers(-60, 60, s.weight.shape[0]) * 2, int(rng.integers(0, 3)))
               for s in syns}
    neurons = {n: FixedNeurons(rng.integers(0, 4000, k), rng.integers(0, 4000, k),
                               rng.integers(50, 3000, k) if n != "r" else np.full(k, 2**17), rng.integers(-300, 300, k),
                               int(rng.integers(0, 4)), rng.integers(-500, 500, k), rng.integers(-500, 500, k))
               for n, k in sizes.items()}
    return FixedPlan(plan, {n: 1.0 for n in sizes}, {"in": 1.0}, weights, neurons, {})


def _assert_same(a, b, counts_a=None, counts_b=None):
    assert a.spikes.keys() == b.spikes.keys()
    for k in a.spikes:
        np.testing.assert_array_equal(a.spikes[k], b.spikes[k], err_msg=k)
    for k in a.voltages:
        np.testing.assert_array_equal(a.voltages[k], b.voltages[k], err_msg=k)
    if counts_a is not None:
        assert counts_a == counts_b


@pytest.mark.parametrize("recurrence", ["self", "back", "none"])
@pytest.mark.parametrize("wraps", [False, True])
def test_random_graphs_equal_the_oracle_state_for_state(wraps, recurrence):
    for seed in range(3):
        fixed = _random_fixed(seed, wraps, recurrence)
        x = np.random.default_rng(seed).uniform(-100, 100, (6, 15, 5))
        mask = np.ones((6, 15), bool)
        mask[2, 11:] = False  # a padded clip end
        oracle, oc = run_fixed_plan(fixed, {"in": x}, mask=mask)
        got, tc = run_fixed_torch(fixed, {"in": x}, mask=mask, batch_size=4)  # two chunks
        _assert_same(got, oracle, tc, oc)
        assert any(s.any() for s in got.spikes.values())
        if wraps:
            assert sum(c["u_wraps"] for c in tc.values()) > 0 and sum(c["v_saturations"] for c in tc.values()) > 0


def _stft_fixed(tmp_path, name="stft"):
    model = biased_model(name)
    snn_in, _, graph, dt = branch_through_nir(model, random_clips(5, seed=1, dtype=torch.float64), tmp_path)
    plan = compile_graph(graph, dt)
    currents, thresholds = clip_streams(snn_in)
    peak = {k: float(np.abs(v).max()) for k, v in currents.items()}
    th_peak = {k: float(np.max(v)) for k, v in thresholds.items()}
    return quantise(plan, input_peak=peak, threshold_peak=th_peak), currents, thresholds


@pytest.mark.parametrize("name", ["stft", "mdft"])
def test_branches_equal_the_oracle(tmp_path, name):
    fixed, currents, thresholds = _stft_fixed(tmp_path, name)
    oracle, oc = run_fixed_plan(fixed, currents, thresholds)
    got, tc = run_fixed_torch(fixed, currents, thresholds)
    _assert_same(got, oracle, tc, oc)
    assert sum(s.sum() for s in got.spikes.values()) > 0


@pytest.mark.lava
@pytest.mark.parametrize("name", ["stft", "mdft"])
def test_branches_equal_lava_fixed(tmp_path, name):
    from neuro_av.export.lava.network import run_plan

    fixed, currents, thresholds = _stft_fixed(tmp_path, name)
    lava = run_plan(fixed, currents, thresholds)
    got, _ = run_fixed_torch(fixed, currents, thresholds)
    for k in lava.spikes:
        np.testing.assert_array_equal(got.spikes[k], lava.spikes[k], err_msg=k)


@pytest.mark.lava
def test_random_graph_equals_lava_fixed_with_wraps():
    from neuro_av.export.lava.network import run_plan

    fixed = _random_fixed(1, wraps=True)
    x = np.random.default_rng(1).uniform(-100, 100, (4, 12, 5))
    lava = run_plan(fixed, {"in": x}, record_voltage=("l1",))
    got, counts = run_fixed_torch(fixed, {"in": x})
    assert sum(c["u_wraps"] for c in counts.values()) > 0
    _assert_same(got, type(got)(lava.spikes, {"r": lava.voltages["r"]}))


@pytest.mark.shared_data
@pytest.mark.lava
def test_nir_paper_braille_equals_oracle_and_lava(shared_data):
    from neuro_av.export.lava.network import run_plan

    graph, dt = read_graph(shared_data / "nir-paper" / "03_rnn" / "braille_noDelay_bias_zero.nir", dt_s=1e-4)
    plan = compile_graph(graph, dt)
    (inp, width), = plan.inputs.items()
    x = (np.random.default_rng(0).random((3, 40, width)) < 0.2).astype(float)
    fixed = quantise_on_input(plan, {inp: x})
    oracle, oc = run_fixed_plan(fixed, {inp: x})
    got, tc = run_fixed_torch(fixed, {inp: x})
    _assert_same(got, oracle, tc, oc)
    lava = run_plan(fixed, {inp: x})
    for k in lava.spikes:
        np.testing.assert_array_equal(got.spikes[k], lava.spikes[k], err_msg=k)
    assert any(s.any() for s in got.spikes.values())


@pytest.mark.lava
def test_conv_graph_equals_oracle_and_lava(tmp_path):
    pytest.importorskip("snntorch")
    import nir
    from peers.peer_nets import DT, snntorch_conv_net, spikes
    from snntorch.export_nir import export_to_nir

    from neuro_av.export.lava.network import run_plan

    nir.write(str(tmp_path / "c.nir"), export_to_nir(snntorch_conv_net(), torch.zeros(1, 2, 8, 8), ignore_dims=[0]))
    graph, dt = read_graph(tmp_path / "c.nir", DT)
    plan = compile_graph(graph, dt)
    x = spikes((3, 16, 128), 0.4, seed=3)
    fixed = quantise_on_input(plan, {"input": x})
    oracle, _ = run_fixed_plan(fixed, {"input": x})
    got, _ = run_fixed_torch(fixed, {"input": x})
    _assert_same(got, oracle)
    lava = run_plan(fixed, {"input": x})
    for k in lava.spikes:
        np.testing.assert_array_equal(got.spikes[k], lava.spikes[k], err_msg=k)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU on this machine")
def test_cuda_equals_cpu(tmp_path):
    for seed in range(3):
        fixed = _random_fixed(seed, wraps=True)
        x = np.random.default_rng(seed).uniform(-100, 100, (64, 15, 5))
        cpu, cc = run_fixed_torch(fixed, {"in": x}, device="cpu")
        gpu, gc = run_fixed_torch(fixed, {"in": x}, device="cuda")
        _assert_same(gpu, cpu, gc, cc)
