"""The quantiser for graphs that cannot be fine-tuned: scales and exponents chosen by spike Dice."""
from __future__ import annotations

import nir
import numpy as np

from neuro_av.export.compile import compile_graph
from neuro_av.export.fidelity import fidelity
from neuro_av.export.lava.fixed_point import quantise_on_input
from neuro_av.export.reference import simulate
from neuro_av.export.torch_fixed import run_fixed_torch


def _cuba_graph(seed: int) -> nir.NIRGraph:
    """Input(12) → Affine → CubaLIF(20, per-neuron τ) → Affine → CubaLIF(10, per-neuron τ) → Output."""
    rng = np.random.default_rng(seed)

    def cuba(n):
        return nir.CubaLIF(tau_syn=rng.uniform(2e-3, 8e-3, n), tau_mem=rng.uniform(4e-3, 2e-2, n), r=np.ones(n),
                           v_leak=np.zeros(n), v_threshold=rng.uniform(0.5, 1.5, n), v_reset=np.zeros(n),
                           w_in=np.ones(n))
    nodes = {"in": nir.Input(input_type=np.array([12])), "fc0": nir.Affine(rng.normal(0, 3.0, (20, 12)), np.zeros(20)),
             "l0": cuba(20), "fc1": nir.Affine(rng.normal(0, 4.0, (10, 20)), np.zeros(10)), "l1": cuba(10),
             "out": nir.Output(output_type=np.array([10]))}
    edges = [("in", "fc0"), ("fc0", "l0"), ("l0", "fc1"), ("fc1", "l1"), ("l1", "out")]
    return nir.NIRGraph(nodes=nodes, edges=edges)


def test_search_never_loses_to_the_rule_and_gains_on_a_cuba_graph_with_per_neuron_tau():
    gains = []
    for seed in range(3):
        plan = compile_graph(_cuba_graph(seed), 1e-3)
        x = (np.random.default_rng(10 + seed).random((8, 60, 12)) < 0.3).astype(float)
        ref = simulate(plan, {"in": x}).spikes
        mask = np.ones(x.shape[:2], bool)
        rule = quantise_on_input(plan, {"in": x}, search=False)
        chosen = quantise_on_input(plan, {"in": x})
        d_rule = fidelity(run_fixed_torch(rule, {"in": x})[0].spikes, ref, mask)["dice"]
        d_chosen = fidelity(run_fixed_torch(chosen, {"in": x})[0].spikes, ref, mask)["dice"]
        s = chosen.report["search"]
        assert s["rule_dice"] == d_rule and s["chosen_dice"] == d_chosen and d_chosen >= d_rule
        assert all(10 <= b <= 16 for b in s["threshold_bits"].values())
        assert all(np.abs(w.weight).max() <= 254 for w in chosen.weights.values())  # within the 8-bit mantissa
        gains.append(d_chosen - d_rule)
    assert max(gains) > 0, gains  # on at least one of them the rule is beaten


def _one_layer(weight: np.ndarray, recurrent: float | None = None) -> nir.NIRGraph:
    """Input(2) → Affine → LIF(3) (→ Linear back into itself with ``recurrent`` on the diagonal) → Output."""
    n = weight.shape[0]
    nodes = {"in": nir.Input(input_type=np.array([2])), "fc": nir.Affine(weight, np.zeros(n)),
             "lif": nir.LIF(tau=np.full(n, 1e-2), r=np.ones(n), v_leak=np.zeros(n), v_threshold=np.ones(n)),
             "out": nir.Output(output_type=np.array([n]))}
    edges = [("in", "fc"), ("fc", "lif"), ("lif", "out")]
    if recurrent is not None:
        nodes["rec"] = nir.Linear(np.eye(n) * recurrent)
        edges += [("lif", "rec"), ("rec", "lif")]
    return nir.NIRGraph(nodes=nodes, edges=edges)


def test_every_exponent_stays_in_the_chips_register():
    """A recurrent weight far above the threshold lowers the population's scale instead of taking a
    weight exponent Loihi cannot hold; weights too small for it take the smallest, with a warning; an
    input of 1e300 (which needs 2^990) is refused, naming the synapse, the exponent and the input."""
    import pytest

    from neuro_av.errors import ExportError
    from neuro_av.export.lava.fixed_point import quantise
    from neuro_av.functional.loihi_formats import WEIGHT_EXP_MAX, WEIGHT_EXP_MIN

    big = compile_graph(_one_layer(np.ones((3, 2)), recurrent=3000.0), 1e-4)
    fixed = quantise(big, input_peak={"in": 1.0})
    assert all(WEIGHT_EXP_MIN <= w.weight_exp <= WEIGHT_EXP_MAX for w in fixed.weights.values())
    assert fixed.scale["lif"] < 2.0**12  # θ = 1 keeps fewer than the default 12 bits
    assert not fixed.report["warnings"]
    tiny = compile_graph(_one_layer(np.full((3, 2), 1e-9)), 1e-4)
    fixed = quantise(tiny, input_peak={"in": 1.0})
    assert fixed.weights["fc"].weight_exp == WEIGHT_EXP_MIN
    assert "synapse fc's weights are below what the smallest weight exponent (-8) resolves" in fixed.report["warnings"][0]
    with pytest.raises(ExportError, match=r"synapse fc needs a weight exponent of \d+, outside Loihi's register "
                                          r"\(-8…7\).*the graded input in reaches 1e\+300.*scale the input to the range"):
        quantise(tiny, input_peak={"in": 1e300})
