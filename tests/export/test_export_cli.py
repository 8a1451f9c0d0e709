"""``neuro-av export RUN --target all`` on tiny trained STFT and MDFT runs: files, manifest, fidelity."""
import json

import nir
import onnx
import pytest

from neuro_av.cli.main import main

pytestmark = pytest.mark.lava


@pytest.mark.parametrize("model", ["stft", "mdft"])
def test_export_all_writes_every_artefact_with_measured_fidelity(tiny_runs, model, capsys):
    run = tiny_runs[model]
    assert main(["export", str(run), "--target", "all", "--check-clips", "6"]) == 0
    out = run / "export"
    manifest = json.loads((out / "manifest.json").read_text())
    kinds = {f["kind"] for f in manifest["files"]}
    assert kinds == {"nir", "nir-chain", "lava-fixed-params", "netx", "onnx", "deployment"}
    for f in manifest["files"]:
        assert (out / f["path"]).is_file(), f["path"]
    assert manifest["dt_s"] > 0 and manifest["reset"] == "zero" and manifest["model"] == model
    assert len(manifest["checkpoint"]["sha256"]) == 64 and manifest["versions"]["lava-nc"] == "0.10.0"
    fid = manifest["fidelity"]
    assert all(0 < r < 1 for r in fid["reference_rates"].values()), fid["reference_rates"]  # agreement means something
    dep = json.loads((out / "deployment.json").read_text())
    assert not dep["targets"]["loihi1"]["fits"] and dep["link"]["threshold_stream_share"] > 0
    assert fid["lava_float_spike_agreement"] == 1.0
    assert 0.9 < fid["lava_fixed_spike_agreement"] <= 1.0
    netx = fid["netx"]
    assert 0.8 < netx["agreement"] <= 1.0 and netx["compared_with"].startswith("the float model with static")
    for chain in netx["chains"].values():  # every layer of every chain, over every check clip
        assert chain["written"] and len(chain["layers"]) == (2 if model == "stft" else 3)
    assert max(fid["onnx_max_abs_diff"].values()) <= 1e-5
    layers = manifest["quantisation"]["layers"]
    assert all(v["weight_rel_error"] < 0.05 for k, v in layers.items() if ".fc" in k)
    graph = nir.read(str(out / "snn.nir"))
    assert graph.metadata["dt_s"] == manifest["dt_s"]
    onnx.checker.check_model(onnx.load(str(out / "pre.onnx")))
    assert not [p for p in out.iterdir() if ".tmp" in p.name]
    printed = capsys.readouterr().out  # summary lines, not the manifest's JSON
    assert "fidelity on 6 test clip(s) against norse (float64):" in printed and "{" not in printed
    assert "torch-fixed equals lava-fixed spike for spike: yes" in printed
    assert [line for line in printed.splitlines() if len(line) > 100] == []


def test_export_json_prints_the_fidelity_alone(tiny_runs, tmp_path, capsys):
    assert main(["export", str(tiny_runs["stft"]), "--target", "nir", "--target", "netx", "--check-clips", "2",
                 "--out", str(tmp_path / "exp"), "--json"]) == 0
    captured = capsys.readouterr()
    manifest = json.loads((tmp_path / "exp" / "manifest.json").read_text())
    assert json.loads(captured.out) == manifest["fidelity"]  # stdout is one JSON object
    assert "export: NIR graph" in captured.err and "θ_0" in captured.out  # progress on stderr; no \u escapes


def test_export_errors_name_the_problem(tmp_path, capsys):
    assert main(["export", str(tmp_path)]) == 2
    assert "checkpoint.pt" in capsys.readouterr().err


def test_export_under_a_file_size_limit_is_one_line_and_leaves_nothing(tiny_runs, tmp_path):
    """ulimit -f 4 (4 KiB): snn.nir is larger; the line names the file where the user will look for it."""
    import resource
    import subprocess
    import sys

    from helpers import REPO

    out = tmp_path / "e"

    def limit():
        resource.setrlimit(resource.RLIMIT_FSIZE, (4 << 10, 4 << 10))

    proc = subprocess.run([sys.executable, "-m", "neuro_av", "export", str(tiny_runs["stft"]), "--target", "nir",
                           "--out", str(out)], preexec_fn=limit, capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    line = proc.stderr.strip().splitlines()[-1]
    assert f"cannot write {out}/" in line and "File too large; the file-size limit (ulimit -f)" in line, line
    assert ".tmp-" not in line and not out.exists()
