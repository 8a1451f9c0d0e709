"""`neuro-av sim` and `neuro-av report` on tiny trained runs and on the NIR paper's LIF graph."""
import json

import numpy as np
import pytest

from neuro_av.cli.main import main

pytestmark = pytest.mark.lava


def _report(folder):
    return json.loads((folder / "report.json").read_text())


@pytest.mark.parametrize("model", ["stft", "mdft"])
def test_sim_all_backends_norse_reproduces_the_run_and_lava_float_equals_norse(tiny_runs, tmp_path, model, capsys):
    run = tiny_runs[model]
    out = tmp_path / "sim"
    assert main(["sim", str(run), "--backend", "all", "--out", str(out), "--no-progress", "--save-spikes"]) == 0
    printed = capsys.readouterr().out
    assert "lava-fixed" in printed and "report.html" in printed
    report = _report(out)
    metrics = json.loads((run / "metrics.json").read_text())
    b = report["backends"]
    assert set(b) == {"norse", "lava-float", "quant-float", "lava-fixed", "torch-fixed"}
    # the ladder: quant-float against the reference only, torch-fixed against quant-float, lava-fixed
    # against torch-fixed (equal: Dice 1.0 on every layer)
    assert b["quant-float"]["fidelity_vs_previous"] is None and b["norse"]["fidelity_vs_previous"] is None
    assert b["torch-fixed"]["fidelity_vs_previous"]["against"] == "quant-float"
    assert b["lava-fixed"]["fidelity_vs_previous"]["against"] == "torch-fixed"
    assert all(f["dice"] == 1.0 for f in b["lava-fixed"]["fidelity_vs_previous"]["layers"].values())
    assert "fidelity ladder" in printed
    for k in ("S", "U", "HM", "ZSL"):
        assert b["norse"][k] == pytest.approx(metrics[k], abs=1e-9)  # the hybrid is the trained model
        assert b["lava-float"][k] == b["norse"][k]
        assert b["torch-fixed"][k] == b["lava-fixed"][k]
    assert b["lava-float"]["fidelity"]["dice"] == 1.0 and b["lava-float"]["class_agreement_vs_reference"] == 1.0
    for layer, f in b["lava-fixed"]["fidelity"]["layers"].items():  # Dice with its rates, per layer
        assert {"dice", "dice_1step", "count_ratio", "rate", "rate_ref", "first_divergence"} <= set(f)
        assert f["dice"] <= f["dice_1step"] + 1e-12 and f["rate_ref"] > 0, layer
        assert b["torch-fixed"]["fidelity"]["layers"][layer] == f  # torch-fixed is lava-fixed, spike for spike
    assert b["torch-fixed"]["chip_counts"] is not None
    assert b["lava-float"]["spike_agreement_vs_reference"] == 1.0
    assert 0.9 < b["lava-fixed"]["spike_agreement_vs_reference"] <= 1.0
    assert set(b["lava-fixed"]["delta_vs_reference"]) == {"S", "U", "HM", "ZSL"}
    for name, r in b.items():
        assert r["energy_j"] > 0 and r["synops"] > 0
        for layer, row in r["spikes"].items():
            assert 0 < row["rate"] < 1 and row["neuron_updates"] > 0, (name, layer)  # active, not saturated
    assert report["energy_tables"][0]["source"].startswith("Davies")
    html = (out / "report.html").read_text()
    figures = ["Accuracy per backend", "Spike raster of one clip", "Energy per clip", "Utilisation of the limits per target"]
    assert all(f"<img alt='{f}" in html for f in figures) and "Davies" in html
    assert html.index("id='verdicts'") < html.index("<table")  # the findings first (tests/sim/test_report_html.py)
    assert "Fidelity in spikes (vs norse)" in html and "torch-fixed" in (out / "report.md").read_text()
    spikes = np.load(out / "spikes.npz")
    layers = list(b["norse"]["spikes"])
    assert set(spikes.files) == {f"{k}/{l}" for k in b for l in layers}
    first = spikes[f"norse/{layers[0]}"]
    assert first.shape[0] == report["clips"] and first.shape[1] == report["steps"]
    np.testing.assert_array_equal(spikes[f"lava-float/{layers[0]}"], first)


def test_workers_merge_exactly_what_one_process_computes(tiny_runs, tmp_path):
    run = tiny_runs["stft"]
    assert main(["sim", str(run), "--backend", "norse", "--backend", "lava-fixed", "--limit", "30",
                 "--out", str(tmp_path / "one"), "--no-progress"]) == 0
    assert main(["sim", str(run), "--backend", "norse", "--backend", "lava-fixed", "--limit", "30",
                 "--workers", "2", "--out", str(tmp_path / "two"), "--no-progress"]) == 0
    one, two = _report(tmp_path / "one"), _report(tmp_path / "two")
    assert two["shards"] == 2 and one["clips"] == two["clips"] == 30
    for name in ("norse", "lava-fixed"):
        for k in ("S", "U", "HM", "ZSL", "spike_agreement_vs_reference", "synops", "energy_j"):
            assert two["backends"][name][k] == pytest.approx(one["backends"][name][k], rel=1e-12), (name, k)
        for layer, row in one["backends"][name]["spikes"].items():
            assert two["backends"][name]["spikes"][layer] == pytest.approx(row, rel=1e-12), (name, layer)
        assert two["backends"][name]["fidelity"] == one["backends"][name]["fidelity"]  # first divergence included
        assert two["backends"][name]["class_agreement_vs_reference"] == one["backends"][name]["class_agreement_vs_reference"]


def test_more_workers_than_clips_runs_one_per_clip(tiny_runs, tmp_path, capsys):
    out = tmp_path / "few"
    assert main(["sim", str(tiny_runs["stft"]), "--backend", "norse", "--limit", "2", "--workers", "5",
                 "--out", str(out), "--no-progress"]) == 0
    assert "--workers 5 is more than the 2 clip(s) to run; using 2" in capsys.readouterr().out
    assert _report(out)["clips"] == 2 and _report(out)["shards"] == 2


def test_onnx_host_matches_torch_host(tiny_runs, tmp_path):
    run = tiny_runs["stft"]
    assert main(["export", str(run), "--target", "onnx", "--check-clips", "4"]) == 0
    for host in ("torch", "onnx"):
        assert main(["sim", str(run), "--backend", "norse", "--limit", "40", "--host", host,
                     "--out", str(tmp_path / host), "--no-progress"]) == 0
    t, o = _report(tmp_path / "torch")["backends"]["norse"], _report(tmp_path / "onnx")["backends"]["norse"]
    assert o["spike_agreement_vs_reference"] == 1.0
    for k in ("S", "U", "HM", "ZSL"):
        assert o[k] == pytest.approx(t[k], abs=1e-6)


def test_report_rerenders_from_json(tiny_runs, tmp_path, capsys):
    out = tmp_path / "sim"
    assert main(["sim", str(tiny_runs["stft"]), "--backend", "norse", "--limit", "8", "--out", str(out),
                 "--no-progress"]) == 0
    (out / "report.html").unlink()
    (out / "report.md").unlink()
    assert main(["report", str(out)]) == 0
    assert (out / "report.html").is_file() and "| norse |" in (out / "report.md").read_text()
    assert main(["report", str(tmp_path / "nowhere")]) == 2
    assert "report.json" in capsys.readouterr().err


@pytest.mark.shared_data
def test_foreign_nir_graph_report(shared_data, tmp_path):
    lif = shared_data / "nir-paper" / "01_lif"
    out = tmp_path / "lif"
    assert main(["sim", "--nir", str(lif / "lif_norse.nir"), "--input", str(lif / "lif_lava_cpu_float.csv"),
                 "--columns", "0", "--dt", "1e-4", "--out", str(out), "--save-spikes"]) == 0
    report = _report(out)
    spikes = np.load(out / "spikes.npz")
    assert set(spikes.files) == {"reference/1", "lava-float/1", "quant-float/1", "lava-fixed/1", "torch-fixed/1"}
    assert spikes["lava-fixed/1"].shape == (1, 1000, 1) and spikes["lava-fixed/1"].sum() == 4
    assert report["kind"] == "nir" and set(report["backends"]) == {"reference", "lava-float", "quant-float", "lava-fixed",
                                                                   "torch-fixed"}
    assert report["reference"] == "reference"
    for b in report["backends"].values():
        assert "HM" not in b and b["totals"]["spikes"] == 4 and b["spike_agreement_vs_reference"] == 1.0
    assert all(b["fidelity"]["layers"]["1"]["dice"] == 1.0 for b in report["backends"].values())
    row = report["backends"]["reference"]["spikes"]["1"]  # 34 input spikes × 1 target: spike events, not graded
    assert row["synops"] == 34 and row["graded_synops"] == 0


@pytest.mark.shared_data
def test_a_custom_profiles_energy_reaches_report_and_console(shared_data, tmp_path, capsys):
    """One --hardware file prices the energy and is planned for; the console and the report name it by its title."""
    lif = shared_data / "nir-paper" / "01_lif"
    chip = {"name": "mychip", "title": "My test chip",
            "figures": {"cores_per_chip": {"value": 4, "source": "by hand"},
                        "neurons_per_core": {"value": 16, "source": "by hand"}},
            "energy": {k: {"value": v, "source": "my measurement"}
                       for k, v in (("synop_pj", 1.0), ("neuron_update_pj", 2.0), ("spike_pj", 3.0))}}
    (tmp_path / "chip.json").write_text(json.dumps(chip))
    out = tmp_path / "lif"
    assert main(["sim", "--nir", str(lif / "lif_norse.nir"), "--input", str(lif / "lif_lava_cpu_float.csv"),
                 "--columns", "0", "--dt", "1e-4", "--backend", "reference", "--hardware", str(tmp_path / "chip.json"),
                 "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    report = _report(out)
    energy = report["backends"]["reference"]["energy"]
    totals = report["backends"]["reference"]["totals"]
    mine = energy["neuromorphic"]["mychip"]
    assert mine["title"] == "My test chip"
    assert mine["total"] == pytest.approx((totals["synops"] + totals["graded_synops"]) * 1e-12
                                          + totals["neuron_updates"] * 2e-12 + totals["spikes"] * 3e-12)
    assert "loihi2" in energy["not_priced"] and "mychip" in report["deployment"]["targets"]
    assert any(t["name"] == "My test chip" and t["source"] == "my measurement" for t in report["energy_tables"])
    assert "mychip µJ" in printed and "mychip: My test chip" in " ".join(printed.split()) and "the only published" not in printed
    row = next(line for line in printed.splitlines() if line.strip().startswith("reference"))
    assert f"{mine['total'] * 1e6:.3f}" in row
    md = (out / "report.md").read_text()
    assert "energy / clip (My test chip op costs)" in md and "My test chip's per-operation energies" in md


def test_sim_input_errors_are_named(tmp_path, capsys, shared_data):
    lif = shared_data / "nir-paper" / "01_lif" / "lif_norse.nir"
    assert main(["sim", "--nir", str(lif), "--input", str(tmp_path / "x.npy"), "--dt", "1e-4", "--out", str(tmp_path)]) == 2
    assert "x.npy does not exist" in capsys.readouterr().err
    np.save(tmp_path / "wide.npy", np.zeros((10, 3)))
    assert main(["sim", "--nir", str(lif), "--input", str(tmp_path / "wide.npy"), "--dt", "1e-4", "--out", str(tmp_path)]) == 2
    assert "does not match the graph's input width 1" in capsys.readouterr().err
    assert main(["sim", "--nir", str(lif), "--input", str(tmp_path / "wide.npy"), "--out", str(tmp_path)]) == 2
    assert "--dt" in capsys.readouterr().err
    bad = tmp_path / "table.json"
    bad.write_text('{"name": "Loihi 2"}')
    assert main(["sim", str(tmp_path), "--energy-table", str(bad), "--out", str(tmp_path / "o")]) == 2
    assert "lacks source" in capsys.readouterr().err


@pytest.mark.slow
def test_torchrun_ranks_merge_exactly_what_one_process_computes(tiny_runs, tmp_path):
    import os
    import socket
    import subprocess
    import sys

    run = tiny_runs["stft"]
    args = ["sim", str(run), "--backend", "norse", "--backend", "lava-fixed", "--limit", "24", "--no-progress"]
    assert main([*args, "--out", str(tmp_path / "one")]) == 0
    with socket.socket() as s:  # a free loopback port for the rendezvous
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    launcher = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
                "--master_addr", "127.0.0.1", "--master_port", str(port)]
    proc = subprocess.run([*launcher, "-m", "neuro_av", *args, "--out", str(tmp_path / "ranks")], capture_output=True,
                          text=True, env={**os.environ, "OMP_NUM_THREADS": "1"}, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.count("report: ") == 1 and proc.stdout.count(" on test (24 clips") == 1, proc.stdout  # rank 0
    one, ranks = _report(tmp_path / "one"), _report(tmp_path / "ranks")
    assert ranks["shards"] == 2
    for name in ("norse", "lava-fixed"):
        for k in ("S", "U", "HM", "ZSL", "synops", "energy_j", "spike_agreement_vs_reference"):
            assert ranks["backends"][name][k] == pytest.approx(one["backends"][name][k], rel=1e-12), (name, k)
