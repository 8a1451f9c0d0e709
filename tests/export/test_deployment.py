"""The deployment plan: placements computed by hand against each per-core limit, the host-chip link of
a small model by hand, the hardware profile validator's errors, and the plan of real exports."""
import json

import nir
import numpy as np
import pytest
from neuro_av.export.deployment import deployment_plan
from neuro_av.export.hardware import (
    HardwareProfileError,
    load_profile,
    sources,
    validate,
)
from neuro_av.export.lava.plan import LavaPlan, Population, Synapse, plan_from_nir
from neuro_av.export.placement import place, synapse_bits_per_axon

from neuro_av.cli.main import main

COST = {"memory_unit_bits": 64, "synapses_per_block": 64, "block_header_bits": 10, "index_bits": 0, "source": "test"}


def _profile(**figures):
    return {"name": "toy", "figures": {k: {"value": v, "source": "by hand"} for k, v in figures.items()},
            "synapse_cost": COST}


def _chain(n_in, sizes, bias=False, threshold_streams=False):
    pops, syns, src = {}, [], "in"
    for i, n in enumerate(sizes):
        name = f"p{i}"
        pops[name] = Population(name, n, i + 1, np.full(n, 0.5), np.full(n, 0.5), np.zeros(n), np.ones(n),
                                np.zeros(n), np.zeros(n), f"{name}.threshold" if threshold_streams else None)
        w = np.ones((n, n_in if i == 0 else sizes[i - 1]))
        syns.append(Synapse(f"fc{i}", src, name, w, np.full(n, 0.1 if bias else 0.0), i == 0))
        src = name
    return LavaPlan(1e-3, {"in": n_in}, pops, syns)


def test_synapse_memory_is_counted_in_blocks_of_64_bit_units():
    # 64 weights of 8 bits + 10 header bits = 522 bits -> 9 units of 64 = 576 bits
    assert synapse_bits_per_axon(64, 8, COST) == 576
    # 100 weights: a block of 64 (576) and one of 36: 36·8 + 10 = 298 -> 320
    assert synapse_bits_per_axon(100, 8, COST) == 576 + 320
    assert synapse_bits_per_axon(1, 1, COST) == 64


def test_a_population_too_large_for_one_core_is_split_by_the_neuron_limit():
    plan = _chain(10, [2500])
    out = place(plan, _profile(neurons_per_core=1024, cores_per_chip=128), 8, host_reads={"p0"})
    (p,) = out["populations"]
    assert p["cores"] == 3 and p["neurons_per_core"] == 834 and p["binding_limit"] == "neurons_per_core"
    assert out["cores"] == 3 and out["chips"] == 1 and p["core_ids"] == [0, 1, 2]


def test_synaptic_memory_binds_before_the_neuron_limit():
    # fan-in 1000, 256 neurons: one core would need 1000 · (4 · 576) = 2,304,000 bits of 1,048,576.
    # Two cores of 128: 1000 · 1152 bits, still too many; three cores of 86: bits(86) = 576 + 64 · ⌈(22 · 8 + 10) / 64⌉
    # = 768 per axon, 768,000 bits: fits
    plan = _chain(1000, [256])
    out = place(plan, _profile(neurons_per_core=1024, synapse_memory_bits_per_core=1048576), 8, host_reads=set())
    (p,) = out["populations"]
    assert synapse_bits_per_axon(86, 8, COST) == 768 and synapse_bits_per_axon(128, 8, COST) == 1152
    assert p["cores"] == 3 and p["neurons_per_core"] == 86 and p["binding_limit"] == "synapse_memory_bits_per_core"
    assert p["fan_in"] == 1000 and p["synapses"] == 256000


def test_output_axons_split_the_source_when_its_targets_are_split():
    # p0 (100 neurons) feeds p1, which the neuron limit splits over 3 cores: each p0 neuron needs 3
    # output axons; with 200 output axons per core, p0 must go to 2 cores (50 · 3 = 150 <= 200)
    plan = _chain(4, [100, 300])
    out = place(plan, _profile(neurons_per_core=128, output_axons_per_core=200), 8, host_reads=set())
    p0, p1 = out["populations"]
    assert p1["cores"] == 3 and p1["binding_limit"] == "neurons_per_core"
    assert p0["cores"] == 2 and p0["binding_limit"] == "output_axons_per_core"


def test_a_limit_binds_only_where_it_split_the_population_or_is_nearly_used_up():
    plan = _chain(10, [100])  # 100 of 1,024 neurons on one core: nothing binds
    (p,) = place(plan, _profile(neurons_per_core=1024), 8, host_reads=set())["populations"]
    assert p["binding_limit"] is None and p["largest_limit"] == "neurons_per_core"
    assert p["utilisation"] == {"neurons_per_core": pytest.approx(100 / 1024, abs=1e-4)}
    (p,) = place(plan, _profile(neurons_per_core=110), 8, host_reads=set())["populations"]  # 91 %: binds
    assert p["cores"] == 1 and p["binding_limit"] == "neurons_per_core"


def test_a_fan_in_larger_than_a_cores_input_axons_cannot_be_placed():
    plan = _chain(5000, [10], bias=True)
    out = place(plan, _profile(neurons_per_core=1024, input_axons_per_core=4096), 8, host_reads=set())
    assert out["violations"] == ["p0: fan-in of 5,001 input axons exceeds the 4,096 input axons of a toy core; "
                                 "no split of the population helps"]
    out = place(plan, _profile(weight_bits_max=4), 8, host_reads=set())
    assert "the exported weights use 8 bits; toy allows 4" in out["violations"][0]


def test_link_bytes_of_a_small_model_by_hand():
    # 10 graded 8-bit inputs, two layers of 6 and 4 neurons with threshold streams (17 bits), biases on
    # both layers (2 depths: 2 bias bits), the host reads the last layer's 4 spikes (4 bits)
    plan = _chain(10, [6, 4], bias=True, threshold_streams=True)
    graph = nir.NIRGraph(nodes={"in": nir.Input(np.array([10])), "p1": nir.LIF(np.ones(4), np.ones(4), np.zeros(4),
                                                                               np.ones(4)),
                                "out": nir.Output(np.array([4]))}, edges=[("in", "p1"), ("p1", "out")],
                         type_check=False)
    dep = deployment_plan(plan, graph, steps=5)
    lk = dep["link"]
    assert lk["bits_per_step"] == {"graded_inputs": 80, "threshold_streams": (6 + 4) * 17, "bias_channels": 2,
                                   "host_to_chip": 80 + 170 + 2, "chip_to_host": 4}
    assert lk["bytes_per_clip"] == {"host_to_chip": 252 * 5 / 8, "chip_to_host": 4 * 5 / 8}
    assert lk["realtime_bits_per_s"] == pytest.approx(256 / 1e-3)
    assert lk["threshold_stream_share"] == pytest.approx(170 / 252)
    assert lk["static_threshold"]["host_to_chip_bits_per_step"] == 82
    loihi1, loihi2 = dep["targets"]["loihi1"], dep["targets"]["loihi2"]
    assert not loihi1["fits"] and any("binary spikes only" in v for v in loihi1["violations"])
    assert any("neuron models are fixed" in v for v in loihi1["violations"])
    assert loihi2["fits"] and any("microcoded" in n for n in loihi2["notes"]) and loihi2["cores_lower_bound"]
    assert loihi1["link_energy_j_per_clip"] is None and "not modelled" in loihi1["link_energy_note"]
    for target in dep["targets"].values():
        assert {"cores", "chips", "fits", "violations", "populations", "sources"} <= set(target)
        for p in target["populations"]:
            assert {"name", "neurons", "fan_in", "synapses", "weight_bits", "cores", "binding_limit"} <= set(p)


def test_every_builtin_figure_has_a_source():
    for name in ("loihi1", "loihi2"):
        profile = load_profile(name)
        assert all(src.strip() for src in sources(profile).values())
        assert set(profile["unknown"]).isdisjoint(profile["figures"])


@pytest.mark.parametrize("profile, message", [
    ([1, 2], "expected a JSON object"),
    ({"figures": {}}, "lacks 'name'"),
    ({"name": "x", "figures": {"cores_per_core": {"value": 1, "source": "s"}}}, "unknown figure 'cores_per_core'"),
    ({"name": "x", "figures": {"cores_per_chip": {"value": 128}}}, "figure cores_per_chip has no source"),
    ({"name": "x", "figures": {"cores_per_chip": {"value": -3, "source": "s"}}}, "must be a positive integer"),
    ({"name": "x", "figures": {"threshold_input": {"value": "maybe", "source": "s"}}}, "threshold_input must be one of"),
    ({"name": "x", "figures": {"synapse_memory_bits_per_core": {"value": 64, "source": "s"}}}, "needs 'synapse_cost'"),
])
def test_profile_validator_names_what_is_wrong(profile, message):
    with pytest.raises(HardwareProfileError, match=message):
        validate(profile, "my.json")


def test_a_bad_hardware_file_is_a_one_line_error(tmp_path, capsys):
    bad = tmp_path / "chip.json"
    bad.write_text("{not json")
    assert main(["plan", str(tmp_path), "--hardware", str(bad)]) == 2
    assert "hardware profile" in capsys.readouterr().err


def test_an_oversized_foreign_graph_spreads_over_cores_and_chips(tmp_path, capsys):
    n = 40000
    rng = np.random.default_rng(0)
    nodes = {"x": nir.Input(np.array([16])), "w": nir.Linear(rng.normal(0, 1, (n, 16)).astype(np.float32)),
             "lif": nir.LIF(tau=np.full(n, 1e-2), r=np.ones(n), v_leak=np.zeros(n), v_threshold=np.ones(n)),
             "y": nir.Output(np.array([n]))}
    graph = nir.NIRGraph(nodes=nodes, edges=[("x", "w"), ("w", "lif"), ("lif", "y")])
    nir.write(str(tmp_path / "big.nir"), graph)
    assert main(["plan", str(tmp_path / "big.nir"), "--dt", "1e-3", "--steps", "10", "--spike-input", "--json"]) == 0
    dep = json.loads(capsys.readouterr().out)
    loihi1 = dep["targets"]["loihi1"]
    assert loihi1["fits"] and loihi1["cores"] == 40 and loihi1["chips"] == 1  # ⌈40000 / 1024⌉ neuron-bound cores
    assert loihi1["populations"][0]["binding_limit"] == "neurons_per_core"
    plan = plan_from_nir(graph, 1e-3)
    assert deployment_plan(plan, graph, 10, targets=("loihi1",))["targets"]["loihi1"]["cores"] == 40


def _lif_graph(tmp_path, n: int, name: str):
    nodes = {"x": nir.Input(np.array([16])), "w": nir.Linear(np.random.default_rng(0).normal(0, 1, (n, 16)).astype(np.float32)),
             "lif": nir.LIF(tau=np.full(n, 1e-2), r=np.ones(n), v_leak=np.zeros(n), v_threshold=np.ones(n)),
             "y": nir.Output(np.array([n]))}
    nir.write(str(tmp_path / name), nir.NIRGraph(nodes=nodes, edges=[("x", "w"), ("w", "lif"), ("lif", "y")]))
    return tmp_path / name


def _plan_text(capsys, *args) -> str:
    assert main(["plan", *args]) == 0
    printed = capsys.readouterr().out
    assert max(map(len, printed.splitlines())) <= 100, printed
    assert "(s)" not in printed, printed
    return printed


def test_plan_text_counts_in_words_and_says_bound_only_where_a_limit_binds(tmp_path, capsys):
    """The human plan: ≤ 100 columns, plurals in words, populations before the link, and "bound by"
    only for a limit that binds (40,000 neurons on 40 cores of 1,024: 98 % of each core's neurons)."""
    printed = _plan_text(capsys, str(_lif_graph(tmp_path, 40000, "big.nir")), "--dt", "1e-3", "--steps", "10",
                         "--spike-input")
    lines, flat = printed.splitlines(), " ".join(printed.split())  # a long path wraps the first line
    assert "40,000 neurons in 1 population, 640,000 synapses" in flat and "fits; 40 cores on 1 chip" in flat
    row = next(line for line in lines if line.split()[:1] == ["lif"])
    assert "98 %" in row and row.endswith("  neurons")  # the "bound by" column
    assert lines.index(row) < next(i for i, line in enumerate(lines) if "link per clip" in line)
    printed = _plan_text(capsys, str(_lif_graph(tmp_path, 1, "one.nir")), "--dt", "1e-3", "--steps", "4")
    assert "1 neuron in 1 population, 16 synapses" in " ".join(printed.split()) and "1 core on 1 chip" in printed
    assert "bound by" not in printed and "no limit binds" in printed
    assert "advice: loihi1 needs binary spike inputs; the placement fits (1 core)" in printed


@pytest.mark.lava
def test_export_writes_the_plan_and_plan_prints_it(tiny_runs, capsys):
    run = tiny_runs["stft"]
    printed = _plan_text(capsys, str(run))  # ≤ 100 columns, no "core(s)"
    assert "loihi1 (" in printed and "does NOT fit; 4 cores on 1 chip" in printed and "threshold streams)" in printed
    assert "4 threshold streams from the host" in printed and ".threshold" not in printed  # counted, not listed
    assert "advice: loihi1 needs binary spike inputs and static thresholds" in printed
    lines = printed.splitlines()
    populations = [i for i, line in enumerate(lines) if line.split()[:1] in (["audio.lif0"], ["visual.lif1"])]
    assert populations and max(populations) < next(i for i, line in enumerate(lines) if line.startswith("  link"))
    assert main(["export", str(run), "--target", "nir", "--target", "lava", "--check-clips", "4"]) == 0
    dep = json.loads((run / "export" / "deployment.json").read_text())
    assert set(dep["targets"]) == {"loihi1", "loihi2"}
    assert dep["link"]["bytes_per_clip"]["host_to_chip"] > 0 and 0 < dep["link"]["threshold_stream_share"] < 1
    assert "plan: loihi1" in capsys.readouterr().out
    printed = _plan_text(capsys, str(run / "export" / "snn.nir"))  # the exported graph reads the same
    assert "neurons in 4 populations" in " ".join(printed.split()) and "4 cores on 1 chip" in printed


def test_synaptic_memory_counts_the_weights_each_axon_stores():
    # a sparse matrix: each of 1000 axons reaches 10 of 256 neurons (a band, as a conv's composed matrix
    # is); one core stores 10 weights per axon, bits(10) = 64 · ⌈(10 · 8 + 10) / 64⌉ = 128 bits, not
    # bits(256) = 2,304; the dense chain of the same shape needs 3 cores (the test above)
    plan = _chain(1000, [256])
    w = np.zeros((256, 1000))
    for j in range(1000):
        w[(j * 256 // 1000 + np.arange(10)) % 256, j] = 1.0
    plan.synapses[0].weight = w
    out = place(plan, _profile(neurons_per_core=1024, synapse_memory_bits_per_core=1048576), 8, host_reads=set())
    (p,) = out["populations"]
    assert p["cores"] == 1 and p["synapses"] == 10_000
    assert p["utilisation"]["synapse_memory_bits_per_core"] == pytest.approx(1000 * 128 / 1048576, abs=1e-4)
    # split over cores, an axon's weights split with the neurons: the fullest core is what counts
    two = place(plan, _profile(neurons_per_core=128, synapse_memory_bits_per_core=1048576), 8, host_reads=set())
    (q,) = two["populations"]
    assert q["cores"] == 2 and q["synapses"] == 10_000
    assert q["utilisation"]["synapse_memory_bits_per_core"] <= p["utilisation"]["synapse_memory_bits_per_core"]


def test_a_sparse_fan_in_is_split_over_cores_by_the_axons_each_core_needs():
    # 5,000 sources, each reaching 2 of 200 neurons (a band): all 5,000 would need one core's axons, but
    # a core of k neurons is reached only by the sources with a weight into them
    plan = _chain(5000, [200])
    w = np.zeros((200, 5000))
    for j in range(5000):
        w[[j * 200 // 5000, (j * 200 // 5000 + 1) % 200], j] = 1.0
    plan.synapses[0].weight = w
    out = place(plan, _profile(neurons_per_core=1024, input_axons_per_core=4096), 8, host_reads=set())
    (p,) = out["populations"]
    assert not out["violations"] and p["fan_in"] == 5000 and p["cores"] == 2
    assert p["binding_limit"] == "input_axons_per_core" and p["utilisation"]["input_axons_per_core"] <= 1.0
    # a neuron that needs more axons than a core has cannot be placed, however it is split
    w[0, :4500] = 1.0
    need = int((w != 0).sum(axis=1).max())
    assert need == 4500 + 25  # the 25 sources of the last band wrap round to neuron 0 as well
    out = place(plan, _profile(neurons_per_core=1024, input_axons_per_core=4096), 8, host_reads=set())
    assert out["violations"] == [f"p0: fan-in of 5,000 ({need:,} into its fullest neuron) input axons exceeds the "
                                 "4,096 input axons of a toy core; no split of the population helps"]


def test_output_axons_go_only_to_the_target_cores_a_neuron_has_weights_into():
    # as the dense test above (p1 split over 3 cores of 100), but p0 neuron j reaches p1 neurons 3j to
    # 3j + 2: one core each, except j = 33 (99-101) and j = 66 (198-200), which straddle two: 102
    # output axons <= 200, so p0 needs no split
    plan = _chain(4, [100, 300])
    w = np.zeros((300, 100))
    for j in range(100):
        w[3 * j:3 * j + 3, j] = 1.0
    plan.synapses[1].weight = w
    out = place(plan, _profile(neurons_per_core=128, output_axons_per_core=200), 8, host_reads=set())
    p0, p1 = out["populations"]
    assert p1["cores"] == 3 and p0["cores"] == 1
    assert p0["utilisation"]["output_axons_per_core"] == pytest.approx(102 / 200)
    # neuron 0 reaches p1's third core as well, and the host reads p0: 103 + 100 > 200, so p0 splits into
    # 2 cores; the first (neurons 0-49; 0 and 33 each reach 2 of p1's cores) needs 50 + 1 + 1 + 50
    w[250, 0] = 1.0
    out = place(plan, _profile(neurons_per_core=128, output_axons_per_core=200), 8, host_reads={"p0"})
    p0 = out["populations"][0]
    assert p0["cores"] == 2 and p0["binding_limit"] == "output_axons_per_core"
    assert p0["utilisation"]["output_axons_per_core"] == pytest.approx(102 / 200)
