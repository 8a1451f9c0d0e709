"""A user's own Norse network: parsed, exported and co-simulated like a run's branch; its own forward
pass is the reference, Lava float equals it spike for spike; unsupported modules are refused by name."""
import json
from pathlib import Path

import numpy as np
import pytest
from neuro_av.export.lava.plan import plan_from_nir, simulate
from neuro_av.export.norse_module import load_user_module, parse, reference, to_nir

from neuro_av.cli.main import main
from neuro_av.errors import NeuroAVError

MODELS = Path(__file__).resolve().parent / "user_models" / "doc_net.py"


def _x(tmp_path, shape=(3, 25, 10), seed=0):
    x = np.random.default_rng(seed).uniform(0, 1, shape)
    np.save(tmp_path / "x.npy", x)
    return x


def test_the_nir_mapping_is_the_modules_own_forward_pass(tmp_path):
    net = parse(load_user_module(f"{MODELS}:build"))
    assert [layer.kind for layer in net.layers] == ["lif", "lif", "lif_recurrent", "li"] and net.dt_s == 1e-3
    x = _x(tmp_path)
    ref = reference(net, x)
    plan = plan_from_nir(to_nir(net), net.dt_s)
    assert len(set(plan.populations["net.lif0"].du)) == 32  # per-neuron τ kept
    got = simulate(plan, {"net.input": x})
    for layer, spikes in ref.spikes.items():
        assert 0 < spikes.mean() < 1
        np.testing.assert_array_equal(got.spikes[layer], spikes, err_msg=layer)
    np.testing.assert_allclose(got.voltages["net.lif3"], ref.voltages["net.lif3"], rtol=0, atol=1e-12)


@pytest.mark.parametrize("name", ["looped", "plain"])
def test_time_looped_and_plain_sequential_forms_give_the_same_reference(tmp_path, name):
    x = _x(tmp_path)
    cells = reference(parse(load_user_module(f"{MODELS}:build")), x)
    other_net = parse(load_user_module(f"{MODELS}:{name}"))
    assert other_net.time_looped == (name == "looped")
    other = reference(other_net, x)
    for layer, spikes in cells.spikes.items():
        np.testing.assert_array_equal(other.spikes[layer], spikes)
    np.testing.assert_array_equal(other.voltages["net.lif3"], cells.voltages["net.lif3"])


@pytest.mark.lava
def test_export_and_sim_of_a_module_from_the_command_line(tmp_path, capsys):
    _x(tmp_path)
    spec = f"{MODELS}:build"
    assert main(["export", "--module", spec, "--input", str(tmp_path / "x.npy"), "--target", "all",
                 "--out", str(tmp_path / "exp")]) == 0
    manifest = json.loads((tmp_path / "exp" / "manifest.json").read_text())
    assert {f["kind"] for f in manifest["files"]} == {"nir", "lava-fixed-params", "deployment"}
    assert "recurrent" in manifest["fidelity"]["netx"]["chains"]["net"]["reason"]  # netx cannot say it: named
    fid = manifest["fidelity"]
    assert fid["lava_float_spike_agreement"] == 1.0 and fid["lava_float_readout"]["net.lif3"]["max_abs_diff"] < 1e-9
    assert fid["torch_fixed_equals_lava_fixed"] is True and fid["spike_dice"]["lava-float"]["dice"] == 1.0
    for layer, f in fid["spike_dice"]["lava-fixed"]["layers"].items():  # Dice comes with its firing rates
        assert f["rate_ref"] > 0 and f["dice"] <= f["dice_1step"] + 1e-12, layer
    assert 0.8 < fid["lava_fixed_spike_agreement"] < 1.0
    assert all(0 < r < 1 for r in fid["reference_rates"].values()), fid["reference_rates"]
    assert main(["sim", "--module", spec, "--input", str(tmp_path / "x.npy"), "--backend", "all",
                 "--out", str(tmp_path / "sim")]) == 0
    report = json.loads((tmp_path / "sim" / "report.json").read_text())
    assert report["kind"] == "module" and report["reference"] == "norse"
    b = report["backends"]
    assert set(b) == {"norse", "reference", "lava-float", "quant-float", "lava-fixed", "torch-fixed"}
    assert b["lava-float"]["spike_agreement_vs_reference"] == 1.0 and b["reference"]["spike_agreement_vs_reference"] == 1.0
    assert b["torch-fixed"]["fidelity"] == b["lava-fixed"]["fidelity"]
    assert b["lava-float"]["readout_vs_reference"]["net.lif3"]["max_abs_diff"] < 1e-9
    assert b["lava-fixed"]["spike_agreement_vs_reference"] == pytest.approx(fid["lava_fixed_spike_agreement"])
    assert "read-out net.lif3" in capsys.readouterr().out


def test_export_and_sim_plan_a_spike_input_alike(tmp_path):
    """Binary input is a plain spike stream for the chip: export's deployment.json and sim's report
    decide that from the input the same way (no graded synapse, so Loihi 1 is not ruled out by it)."""
    np.save(tmp_path / "x.npy", (np.random.default_rng(1).random((2, 25, 10)) < 0.3).astype(float))
    spec = f"{MODELS}:build"
    assert main(["export", "--module", spec, "--input", str(tmp_path / "x.npy"), "--target", "nir",
                 "--out", str(tmp_path / "exp")]) == 0
    assert main(["sim", "--module", spec, "--input", str(tmp_path / "x.npy"), "--backend", "numpy",
                 "--out", str(tmp_path / "sim"), "--no-progress"]) == 0
    exported = json.loads((tmp_path / "exp" / "deployment.json").read_text())
    simulated = json.loads((tmp_path / "sim" / "report.json").read_text())["deployment"]
    assert exported["needs"] == simulated["needs"] and exported["needs"]["graded_synapses"] == []
    assert exported["link"] == simulated["link"]
    for b in json.loads((tmp_path / "sim" / "report.json").read_text())["backends"].values():
        assert b["totals"]["graded_synops"] == 0 and b["synops"] > 0  # binary input: spike events, SynOps


@pytest.mark.parametrize("binary", [True, False], ids=["spikes", "graded"])
def test_plan_of_the_exported_graph_answers_as_export_did(tmp_path, capsys, binary):
    """The exported snn.nir records its input kind, so `neuro-av plan` of it without --spike-input
    gives export's answer (binary inputs: Loihi 1 is not ruled out by a graded first layer)."""
    rng = np.random.default_rng(1)
    x = (rng.random((2, 25, 10)) < 0.3).astype(float) if binary else rng.uniform(0, 1, (2, 25, 10))
    np.save(tmp_path / "x.npy", x)
    assert main(["export", "--module", f"{MODELS}:build", "--input", str(tmp_path / "x.npy"), "--target", "nir",
                 "--out", str(tmp_path / "exp")]) == 0
    exported = json.loads((tmp_path / "exp" / "deployment.json").read_text())
    assert bool(exported["needs"]["graded_synapses"]) == (not binary)
    capsys.readouterr()
    assert main(["plan", str(tmp_path / "exp" / "snn.nir"), "--json"]) == 0  # no --spike-input
    planned = json.loads(capsys.readouterr().out)
    assert planned["needs"] == exported["needs"]
    fits = {n: t["fits"] for n, t in exported["targets"].items()}
    assert {n: t["fits"] for n, t in planned["targets"].items()} == fits


def test_the_exported_graph_records_its_input_kind(tmp_path):
    from neuro_av.export.nir_graph import read_graph, record_input_kind, recorded_spike_inputs, write_graph

    graph = to_nir(parse(load_user_module(f"{MODELS}:build")))
    write_graph(graph, tmp_path / "foreign.nir")
    assert recorded_spike_inputs(read_graph(tmp_path / "foreign.nir")[0]) is None  # nothing recorded: the flag decides
    for spikes in [(), ("net.input",)]:
        write_graph(record_input_kind(graph, spikes), tmp_path / "g.nir")
        assert recorded_spike_inputs(read_graph(tmp_path / "g.nir")[0]) == spikes


def test_unsupported_modules_are_refused_by_name(tmp_path, capsys):
    with pytest.raises(NeuroAVError, match=r"module '0' \(torch.nn.modules.conv.Conv2d\) is not supported"):
        parse(load_user_module(f"{MODELS}:with_conv"))
    _x(tmp_path)
    assert main(["sim", "--module", f"{MODELS}:with_conv", "--input", str(tmp_path / "x.npy"),
                 "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "Conv2d" in err and "Traceback" not in err
    assert main(["export", "--module", f"{MODELS}:nothing", "--input", str(tmp_path / "x.npy"),
                 "--out", str(tmp_path / "o")]) == 2
    assert "defines no 'nothing'" in capsys.readouterr().err


def test_what_nir_and_lava_cannot_say_is_listed():
    net = parse(load_user_module(f"{MODELS}:box_subtract"))
    assert any("reset_subtract" in d for d in net.deviations)
