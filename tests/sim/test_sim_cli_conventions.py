"""`neuro-av sim`'s CLI conventions on a tiny run: --out defaults to RUN/sim, the reference always
runs (numpy is the old name of reference), SynOps are spike events only, a sample smaller than the
split's classes is named too small to score, and a run without a spiking branch is refused before
anything is exported."""
import json

import pytest
from deploy_runs import SHORT

from neuro_av.cli.main import main

pytestmark = pytest.mark.lava


def test_sim_of_a_run_writes_run_sim_and_warns_of_a_sample_too_small(tiny_runs, capsys):
    run = tiny_runs["stft"]
    assert main(["sim", str(run), "--backend", "numpy", "--limit", "3", "--no-progress"]) == 0  # no --out
    printed = capsys.readouterr().out
    report = json.loads((run / "sim" / "report.json").read_text())
    assert list(report["backends"]) == ["norse", "reference"]  # the run's reference always runs; numpy = reference
    assert f"report: {run / 'sim' / 'report.html'}" in printed
    for b in report["backends"].values():  # SynOps: spike events only; graded input events apart
        assert b["synops"] == b["totals"]["synops"] and b["graded_synops"] == b["totals"]["graded_synops"] > 0
    assert any("too small a sample to score" in w for w in report["warnings"]), report["warnings"]
    assert "warning: 3 clips for the" in printed and "too small a sample to score" in printed
    assert [line for line in printed.splitlines() if len(line) > 100] == []
    assert main(["report", str(run / "sim")]) == 0 and "too small a sample" in capsys.readouterr().out


def test_a_nir_graph_or_a_module_needs_out(tmp_path, capsys):
    assert main(["sim", "--nir", str(tmp_path / "g.nir"), "--input", str(tmp_path / "x.npy"), "--dt", "1e-4"]) == 2
    err = capsys.readouterr().err
    assert "--out" in err and err.count("\n") == 1


def test_a_run_without_a_spiking_branch_is_refused_before_any_export(tiny_runs, tmp_path, capsys):
    data = tiny_runs["stft"].parent / "data"
    run = tmp_path / "avca"
    assert main(["train", "--model", "avca", "--data", str(data), "--out", str(run), *SHORT]) == 0
    capsys.readouterr()
    assert main(["sim", str(run), "--limit", "2"]) == 2
    captured = capsys.readouterr()
    assert "model 'avca' has no spiking branch to deploy" in captured.err
    assert "export" not in captured.out and not (run / "export").exists() and not (run / "sim").exists()
