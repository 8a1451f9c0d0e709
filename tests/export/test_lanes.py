"""Lanes are exact: many clips per Lava time step give, spike for spike, what one clip per window gives,
what Lava's stock Dense and LIF processes give (float and bit-accurate fixed point), and what the NumPy
oracles say — also with per-neuron parameters, reset values and recurrent edges."""
import nir
import numpy as np
import pytest
import torch
from export_fixtures import (
    biased_model,
    branch_through_nir,
    clip_streams,
    random_clips,
)
from neuro_av.export.lava.fixed_point import (
    FixedNeurons,
    FixedPlan,
    FixedSynapse,
    quantise,
)
from neuro_av.export.lava.network import auto_lanes, bytes_per_lane, run_plan
from neuro_av.export.lava.oracle import LifLayer, run_fixed_plan
from neuro_av.export.lava.plan import (
    LavaPlan,
    Population,
    Synapse,
    plan_from_nir,
    simulate,
)
from stock_lava import run_stock_chain

pytestmark = pytest.mark.lava


def _chain_plan(rng, widths, du, dv, vth, v_bias, bias_scale):
    """A two-layer chain input → l0 → l1 in float units (one value per population, as stock LIF takes)."""
    pops, syns = {}, []
    for i, n in enumerate(widths[1:]):
        pops[f"l{i}"] = Population(f"l{i}", n, i + 1, np.full(n, du[i]), np.full(n, dv[i]), np.full(n, v_bias[i]),
                                   np.full(n, vth[i]), np.zeros(n), np.zeros(n))
        src = "in" if i == 0 else f"l{i - 1}"
        syns.append(Synapse(f"fc{i}", src, f"l{i}", rng.normal(0.1, 0.4, (n, widths[i])),
                            rng.normal(0.0, bias_scale, n), i == 0))
    return LavaPlan(1e-3, {"in": widths[0]}, pops, syns)


def test_float_lanes_equal_stock_dense_and_lif_layer_by_layer():
    rng = np.random.default_rng(3)
    plan = _chain_plan(rng, (6, 9, 5), du=(0.3, 0.5), dv=(0.2, 0.1), vth=(0.9, 1.1), v_bias=(0.01, -0.02),
                       bias_scale=0.05)
    x = rng.uniform(-0.5, 1.5, (4, 20, 6))
    lanes = run_plan(plan, {"in": x}, lanes=4)
    assert lanes.lanes == 4 and lanes.lava_steps == 20 + 2  # all clips in one window
    for clip in range(4):
        layers = [LifLayer(s.weight, plan.populations[s.dst].du[0], plan.populations[s.dst].dv[0],
                           plan.populations[s.dst].vth[0], plan.populations[s.dst].v_bias[0]) for s in plan.synapses]
        stock = run_stock_chain(np.vstack([x[clip], np.zeros((2, 6))]), layers, "floating_pt", graded=True,
                                bias_columns=[(s.bias, 0) for s in plan.synapses], windowed=True)
        for d, (name, got) in enumerate(sorted(lanes.spikes.items()), start=1):  # l0 (depth 1), l1 (depth 2)
            assert 0 < got[clip].sum() < got[clip].size
            np.testing.assert_array_equal(got[clip], stock[d - 1][d:d + 20], err_msg=f"clip {clip} {name}")


def test_fixed_lanes_equal_stock_dense_and_lif_layer_by_layer():
    rng = np.random.default_rng(4)
    base = _chain_plan(rng, (6, 9, 5), du=(0.3, 0.5), dv=(0.2, 0.1), vth=(0.9, 0.6), v_bias=(0, 0), bias_scale=0)
    weights = {"fc0": FixedSynapse(rng.integers(-120, 120, (9, 6)) * 2, -2, rng.integers(-60, 60, 9) * 2, 1),
               "fc1": FixedSynapse(rng.integers(-100, 60, (5, 9)) * 2, 0, np.zeros(5, np.int64), 0)}
    neurons = {"l0": FixedNeurons(np.full(9, 1200), np.full(9, 800), np.full(9, 150), np.full(9, 40), 0,
                                  np.zeros(9, np.int64), np.zeros(9, np.int64)),
               "l1": FixedNeurons(np.full(5, 2000), np.full(5, 400), np.full(5, 120), np.zeros(5, np.int64), 0,
                                  np.zeros(5, np.int64), np.zeros(5, np.int64))}
    fixed = FixedPlan(base, {"l0": 1.0, "l1": 1.0}, {"in": 1.0}, weights, neurons, {})
    x = rng.integers(-40, 100, (3, 25, 6)).astype(float)
    lanes = run_plan(fixed, {"in": x}, lanes=3)
    for clip in range(3):
        layers = [LifLayer(weights[f"fc{i}"].weight, neurons[f"l{i}"].du[0], neurons[f"l{i}"].dv[0],
                           neurons[f"l{i}"].vth[0], neurons[f"l{i}"].bias_mant[0]) for i in range(2)]
        stock = run_stock_chain(np.vstack([x[clip], np.zeros((2, 6))]), layers, "fixed_pt", graded=True,
                                weight_exps=[weights["fc0"].weight_exp, weights["fc1"].weight_exp],
                                bias_columns=[(weights["fc0"].bias, weights["fc0"].bias_exp), None], windowed=True)
        for d, name in enumerate(("l0", "l1"), start=1):
            got = lanes.spikes[name][clip]
            assert 0 < got.sum() < got.size
            np.testing.assert_array_equal(got, stock[d - 1][d:d + 25], err_msg=f"clip {clip} {name}")
    oracle, _ = run_fixed_plan(fixed, {"in": x})
    for name in ("l0", "l1"):
        np.testing.assert_array_equal(lanes.spikes[name], oracle.spikes[name])


@pytest.mark.parametrize("name", ["stft", "mdft"])
def test_lanes_equal_one_lane_and_the_oracles_on_small_models(tmp_path, name):
    model = biased_model(name)
    clips = random_clips(5, dtype=torch.float64)
    mask = clips.mask.clone()
    mask[2, 6:] = False
    snn_in, _, graph, dt = branch_through_nir(model, clips._replace(mask=mask), tmp_path)
    plan = plan_from_nir(graph, dt)
    currents, thresholds = clip_streams(snn_in)
    fixed = quantise(plan, input_peak={k: float(np.abs(v).max()) for k, v in currents.items()},
                     threshold_peak={k: float(np.max(v)) for k, v in thresholds.items()})
    valid = mask.numpy()
    for p, oracle in ((plan, simulate(plan, currents, thresholds, valid)),
                      (fixed, run_fixed_plan(fixed, currents, thresholds, valid)[0])):
        lanes = run_plan(p, currents, thresholds, mask=valid)
        one = run_plan(p, currents, thresholds, mask=valid, lanes=1)
        two = run_plan(p, currents, thresholds, mask=valid, lanes=2)  # 3 rounds, the last one half full
        assert lanes.lanes == 5 and one.lanes == 1 and one.lava_steps == 5 * lanes.lava_steps
        for pop, spikes in oracle.spikes.items():
            assert spikes.sum() > 0
            np.testing.assert_array_equal(lanes.spikes[pop], spikes, err_msg=f"{p.run_tag} {pop}")
            np.testing.assert_array_equal(one.spikes[pop], spikes)
            np.testing.assert_array_equal(two.spikes[pop], spikes)
            assert not lanes.spikes[pop][~valid].any()  # silent on padded steps


def _heterogeneous_graph(rng, n_in=5, n1=12, n2=7):
    """CubaLIF with per-neuron τ, v_leak, threshold and reset, and a recurrent LIF with per-neuron τ."""
    def vec(lo, hi, n):
        return rng.uniform(lo, hi, n).astype(np.float32)

    nodes = {
        "x": nir.Input(input_type=np.array([n_in])),
        "w1": nir.Affine(weight=rng.normal(0.4, 0.6, (n1, n_in)).astype(np.float32), bias=vec(-0.1, 0.1, n1)),
        "a": nir.CubaLIF(tau_syn=vec(2e-3, 8e-3, n1), tau_mem=vec(4e-3, 2e-2, n1), r=vec(0.8, 1.2, n1),
                         v_leak=vec(-0.05, 0.05, n1), v_threshold=vec(0.3, 0.7, n1), v_reset=vec(-0.2, 0.1, n1),
                         w_in=vec(1, 3, n1)),
        "w2": nir.Linear(weight=rng.normal(0.5, 0.7, (n2, n1)).astype(np.float32)),
        "b": nir.LIF(tau=vec(3e-3, 1e-2, n2), r=vec(0.9, 1.5, n2), v_leak=np.zeros(n2, np.float32),
                     v_threshold=vec(0.2, 0.5, n2), v_reset=np.zeros(n2, np.float32)),
        "w_rec": nir.Linear(weight=rng.normal(0.0, 0.5, (n2, n2)).astype(np.float32)),
        "y": nir.Output(output_type=np.array([n2])),
    }
    edges = [("x", "w1"), ("w1", "a"), ("a", "w2"), ("w2", "b"), ("b", "w_rec"), ("w_rec", "b"), ("b", "y")]
    return nir.NIRGraph(nodes=nodes, edges=edges)


def test_per_neuron_parameters_run_on_both_lava_backends(tmp_path):
    rng = np.random.default_rng(9)
    graph = _heterogeneous_graph(rng)
    nir.write(str(tmp_path / "het.nir"), graph)
    from neuro_av.export.nir_graph import read_graph

    plan = plan_from_nir(*read_graph(tmp_path / "het.nir", dt_s=1e-3))
    assert len(set(plan.populations["a"].du)) == 12 and len(set(plan.populations["b"].dv)) == 7
    x = {"x": rng.uniform(0, 1.2, (3, 40, 5))}
    ref = simulate(plan, x)
    lava = run_plan(plan, x)
    for pop in ("a", "b"):
        assert 0 < ref.spikes[pop].sum() < ref.spikes[pop].size
        np.testing.assert_array_equal(lava.spikes[pop], ref.spikes[pop])  # float: exactly the reference
    fixed = quantise(plan, input_peak={"x": 1.2})
    layer = fixed.report["layers"]["a"]
    assert layer["distinct_decays"] == 12 and 0 < layer["du_max_error"] <= 0.5 / 4096 + 1e-12
    got = run_plan(fixed, x)
    oracle, counts = run_fixed_plan(fixed, x)
    for pop in ("a", "b"):
        np.testing.assert_array_equal(got.spikes[pop], oracle.spikes[pop])
        assert (got.spikes[pop] == ref.spikes[pop]).mean() > 0.85  # a random recurrent net: errors propagate
    assert counts["a"]["u_wraps"] == 0


def test_read_out_population_voltage_comes_back():
    rng = np.random.default_rng(2)
    n = 4
    nodes = {"x": nir.Input(input_type=np.array([3])),
             "w": nir.Affine(weight=rng.normal(0, 1, (n, 3)), bias=np.zeros(n)),
             "li": nir.CubaLI(tau_syn=np.full(n, 5e-3), tau_mem=rng.uniform(5e-3, 2e-2, n), r=np.ones(n),
                              v_leak=np.zeros(n), w_in=np.full(n, 5.0)),
             "y": nir.Output(output_type=np.array([n]))}
    plan = plan_from_nir(nir.NIRGraph(nodes=nodes, edges=[("x", "w"), ("w", "li"), ("li", "y")]), 1e-3)
    x = {"x": rng.normal(0, 1, (2, 15, 3))}
    ref = simulate(plan, x)
    got = run_plan(plan, x)
    assert not got.spikes and np.abs(ref.voltages["li"]).max() > 0
    np.testing.assert_array_equal(got.voltages["li"], ref.voltages["li"])


def test_lane_count_follows_memory_and_the_batch():
    plan = _chain_plan(np.random.default_rng(0), (300, 256, 256), (0.5, 0.5), (0.5, 0.5), (1, 1), (0, 0), 0.0)
    per = bytes_per_lane(plan, 8)
    assert per == 10 * ((300 + 512 + 2) * 8 * 3 + 512)
    assert auto_lanes(plan, 7, 8) == 7  # never more lanes than clips
    assert 1 <= auto_lanes(plan, 10**9, 8) <= (4 << 30) // per


def test_float_lane_sum_adds_what_lavas_dense_adds_in_the_same_order():
    """LaneDense float sums weights.T[s] over axis 0 where Lava's Dense sums weights[:, s] over axis 1:
    the same additions in the same order, so bit for bit equal even where the order matters
    (magnitudes spread over 2^±20, where any reordering changes the rounding)."""
    rng = np.random.default_rng(7)
    w = rng.normal(size=(64, 300)) * np.exp2(rng.integers(-20, 20, size=(64, 300)))
    wt = np.ascontiguousarray(w.T)
    reordered = 0
    for p in (0.01, 0.05, 0.3, 0.7, 1.0):
        for _ in range(20):
            s = rng.random(300) < p
            lava = w[:, s].sum(axis=1)
            np.testing.assert_array_equal(wt[s].sum(axis=0), lava)
            reordered += int((np.sort(w[:, s], axis=1).sum(axis=1) != lava).sum())
    assert reordered > 0  # the data are such that the summation order shows
