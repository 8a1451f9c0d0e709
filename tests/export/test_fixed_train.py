"""FixedForward (what fine-tuning trains) against torch-fixed on the integers export writes."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from neuro_av.export import hybrid
from neuro_av.export.compile import compile_graph
from neuro_av.export.fixed_train import attach
from neuro_av.functional.loihi_fixed import clamp_weights, snap_weights
from neuro_av.export.lava.fixed_point import frozen_calibration, quantise
from neuro_av.export.nir_graph import read_graph, snn_to_nir, write_graph
from neuro_av.export.torch_fixed import run_fixed_torch
from neuro_av.functional.lif import LIFStepParams
from neuro_av.models.partition import SnnInput, SpikingBranch


def _model(seed: int, gain: float, dynamic: bool):
    torch.manual_seed(seed)
    branch = SpikingBranch({"a": [6, 10, 7], "b": [5, 8]}, LIFStepParams(tau_syn_s=3e-3, tau_mem_s=4e-3))
    with torch.no_grad():
        for p in branch.parameters():
            p.mul_(gain)
    cfg = SimpleNamespace(threshold_base=0.3, dynamic_threshold=dynamic)
    return SimpleNamespace(partition=lambda: SimpleNamespace(snn=branch), cfg=cfg), branch


def _input(seed: int, dynamic: bool, batch=5, steps=9):
    g = torch.Generator().manual_seed(seed)
    mask = torch.ones(batch, steps, dtype=torch.bool)
    mask[0, 6:] = False
    cur = {"a": torch.randn(batch, steps, 6, generator=g), "b": torch.randn(batch, steps, 5, generator=g)}
    widths = {"a": [10, 7], "b": [8]}
    th = {c: [(0.3 * 2 * torch.rand(batch, steps, n, generator=g)) if dynamic else torch.full((1, 1, n), 0.3)
              for n in ns] for c, ns in widths.items()}
    return SnnInput(cur, th, mask)


def _attach(model, branch, x) -> dict:
    """The branch in fixed point, calibrated on ``x`` as export would (dynamic thresholds up to 0.6)."""
    currents, thresholds, _ = hybrid.streams(x)
    plan = compile_graph(snn_to_nir(branch, 0.3, True), 1e-3)
    frozen = frozen_calibration(quantise(plan, input_peak={k: float(np.abs(v).max()) for k, v in currents.items()},
                                         threshold_peak={k: 0.6 for k in thresholds}))
    attach(model, frozen)
    return frozen


@pytest.mark.parametrize("seed,gain,dynamic", [(0, 1.0, True), (1, 40.0, True), (2, 3.0, False)])
def test_fixed_forward_equals_torch_fixed_on_the_exported_integers(tmp_path, seed, gain, dynamic):
    model, branch = _model(seed, gain, dynamic)
    x = _input(seed, dynamic)
    currents, thresholds, mask = hybrid.streams(x)
    path = tmp_path / "snn.nir"
    write_graph(snn_to_nir(branch, 0.3, dynamic), path)
    graph, dt = read_graph(path)
    plan = compile_graph(graph, dt)
    peaks = {k: float(np.abs(v).max()) / 2 for k, v in currents.items()}  # half: inputs clip too
    frozen = frozen_calibration(quantise(plan, input_peak=peaks, threshold_peak={k: 0.6 for k in thresholds}))
    attach(model, frozen)
    forward = branch.fixed_point
    with torch.no_grad():
        got = branch(x)
    rec, counts = run_fixed_torch(quantise(plan, frozen=frozen), currents, thresholds, mask)
    for chain, layers in got.spikes.items():
        for i, s in enumerate(layers):
            np.testing.assert_array_equal(s.numpy().astype(np.uint8), rec.spikes[f"{chain}.lif{i}"])
    assert forward.counts["u_wraps"] == sum(c["u_wraps"] for c in counts.values())
    assert forward.counts["v_saturations"] == sum(c["v_saturations"] for c in counts.values())
    if gain > 10:
        assert forward.counts["u_wraps"] + forward.counts["v_saturations"] > 0  # the case meant to wrap does


def test_gradients_reach_weights_and_inputs_and_snapping_keeps_every_integer(tmp_path):
    model, branch = _model(3, 1.0, True)
    x = _input(3, True)
    frozen = _attach(model, branch, x)
    cur = {k: v.clone().requires_grad_(True) for k, v in x.current.items()}
    out = branch(SnnInput(cur, x.thresholds, x.mask))
    sum(s.sum() for layers in out.spikes.values() for s in layers).backward()
    assert all(float(p.grad.abs().sum()) > 0 for p in branch.parameters() if p.dim() == 2)
    assert all(float(v.grad.abs().sum()) > 0 for v in cur.values())
    with torch.no_grad():
        branch.chains["a"][0].weight.mul_(50)  # far beyond the frozen exponent's range
        before = branch(x)
        clamp_weights(branch)
        assert branch.fixed_point.layers("a", "cpu")[0].weights(branch.chains["a"][0])[2] == 0
        clamped = branch(x)
        snap_weights(branch)
        after = branch(x)
    assert all(torch.equal(a, b) for c in clamped.spikes for a, b in zip(clamped.spikes[c], after.spikes[c]))
    assert before.spikes.keys() == after.spikes.keys()
    exported = quantise(compile_graph(snn_to_nir(branch, 0.3, True), 1e-3), frozen=frozen)
    for chain, linears in branch.chains.items():
        for linear, layer in zip(linears, branch.fixed_point.layers(chain, "cpu")):
            w, b, _ = layer.weights(linear)
            np.testing.assert_array_equal(w.detach().numpy(), exported.weights[layer.syn].weight)
            np.testing.assert_array_equal(b.detach().numpy(), exported.weights[layer.syn].bias)


def test_the_headroom_penalty_is_positive_where_the_state_nears_its_wrap_and_has_a_gradient():
    model, branch = _model(1, 40.0, True)
    x = _input(1, True)
    frozen = _attach(model, branch, x)
    forward = branch.fixed_point
    branch(x)
    penalty = forward.take_penalty()
    assert float(penalty) > 0 and forward.counts["u_wraps"] + forward.counts["v_saturations"] > 0
    penalty.backward()
    assert float(branch.chains["a"][0].weight.grad.abs().sum()) > 0
    assert forward.take_penalty() == 0.0  # taken
    with torch.no_grad():
        branch(x)
    assert forward.take_penalty() == 0.0  # nothing accumulates without gradients
