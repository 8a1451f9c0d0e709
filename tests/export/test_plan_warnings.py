"""`neuro-av plan RUN` repeats what the run's export saw on its check clips: a plan is not read without
the layers that never fired."""
import json

import pytest
from deploy_runs import SHORT, TINY
from neuro_av.cli.main import main

pytestmark = pytest.mark.lava


def test_plan_of_an_exported_run_warns_of_its_silent_layers(tiny_runs, tmp_path, capsys):
    run, tiny_data = tmp_path / "silent", tiny_runs["stft"].parent / "data"
    # θ_0 = 1000: no layer can reach its threshold
    assert main(["train", "--model", "stft", "--data", str(tiny_data), "--out", str(run), *SHORT, *TINY["stft"],
                 "--set", "threshold_base=1000"]) == 0
    assert main(["plan", str(run)]) == 0
    assert "warning" not in capsys.readouterr().out  # not exported yet: nothing was run
    assert main(["export", str(run), "--target", "lava", "--check-clips", "2"]) == 0
    manifest = json.loads((run / "export" / "manifest.json").read_text())
    silent = [w for w in manifest["fidelity"]["warnings"] if "never fired" in w]
    assert len(silent) == 4, manifest["fidelity"]["warnings"]  # audio and visual, two layers each
    capsys.readouterr()
    assert main(["plan", str(run)]) == 0
    printed = capsys.readouterr().out
    assert max(map(len, printed.splitlines())) <= 100, printed
    flat = " ".join(printed.split())
    for layer in ("audio.lif0", "audio.lif1", "visual.lif0", "visual.lif1"):
        assert f"warning (from the export): {layer} never fired" in flat, printed
    assert main(["plan", str(run), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["export_warnings"][:4] == manifest["fidelity"]["warnings"][:4]
