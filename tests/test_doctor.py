"""`neuro-av doctor` runs every live check and reports each with a status."""
import json
import subprocess
import sys

import pytest
from helpers import REPO

from neuro_av.doctor import CHECKS, run_checks


@pytest.mark.lava
def test_doctor_json_lists_every_check_ok():
    proc = subprocess.run([sys.executable, "-m", "neuro_av", "doctor", "--json"], capture_output=True,
                          text=True, timeout=600, cwd=REPO)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads(proc.stdout)
    assert [c["name"] for c in report["checks"]] == list(CHECKS)
    assert {c["status"] for c in report["checks"]} == {"ok"}, report["checks"]
    for dist in ("torch", "numpy", "norse", "nir", "nirtorch", "lava-nc", "lava-dl", "onnx", "onnxruntime"):
        assert report["versions"][dist], f"{dist} version missing"
    assert set(report["torch"]) == {"torch_cuda_build", "cuda_available", "cuda_devices"}


def test_a_failing_check_is_reported_not_raised(monkeypatch):
    def broken():
        raise RuntimeError("simulated breakage")

    monkeypatch.setitem(CHECKS, "norse_lif_step", broken)
    (result,) = run_checks(["norse_lif_step"])
    assert not result.ok and "simulated breakage" in result.detail


def test_doctor_exit_status_is_nonzero_when_a_check_fails(monkeypatch, capsys):
    import neuro_av.doctor as doctor
    from neuro_av.cli.main import main

    monkeypatch.setattr(doctor, "CHECKS", {"nir_roundtrip": lambda: (_ for _ in ()).throw(OSError("disk"))})
    assert main(["doctor"]) == 1
    assert "FAILED" in capsys.readouterr().out
