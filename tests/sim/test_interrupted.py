"""An export or a sim killed midway leaves nothing a later step trusts: the next run redoes the step.

Every file a later step reads (manifest.json, report.json, ...) is written to a temporary name and
renamed, and the manifest is written last, so a killed export has no manifest and a killed sim no report.
"""
import json
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import REPO

from neuro_av.cli.main import main

pytestmark = [pytest.mark.lava, pytest.mark.slow]


def _copy_run(run: Path, to: Path) -> Path:
    shutil.copytree(run, to, ignore=shutil.ignore_patterns("export"))
    return to


def _kill_when(proc: subprocess.Popen, ready, what: str, timeout: float = 240) -> None:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        assert proc.poll() is None, f"finished before {what}: {proc.stdout.read()}"
        if ready():
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def test_killed_export_is_redone_by_the_next_sim(tiny_runs, tmp_path, capsys):
    run = _copy_run(tiny_runs["stft"], tmp_path / "run")
    export = run / "export"
    proc = subprocess.Popen([sys.executable, "-m", "neuro_av", "export", str(run), "--target", "lava"], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    # the NIR graph is the first file; the Lava check that follows takes seconds
    _kill_when(proc, lambda: (export / "snn.nir").is_file(), "the first exported file")
    assert not (export / "manifest.json").exists()
    capsys.readouterr()
    assert main(["sim", str(run), "--backend", "lava-float", "--out", str(tmp_path / "sim"), "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "manifest.json is missing" in printed and re.search(r"exporting \([a-z, ]*lava[a-z, ]*\) first", printed)
    manifest = json.loads((export / "manifest.json").read_text())
    assert manifest["fidelity"]["lava_float_spike_agreement"] == 1.0
    report = json.loads((tmp_path / "sim" / "report.json").read_text())
    assert report["backends"]["lava-float"]["spike_agreement_vs_reference"] == 1.0


def test_killed_sim_writes_no_report_and_the_rerun_does(tiny_runs, tmp_path):
    run = _copy_run(tiny_runs["stft"], tmp_path / "run")
    assert main(["export", str(run), "--target", "lava", "--check-clips", "2"]) == 0
    out = tmp_path / "sim"
    cmd = [sys.executable, "-m", "neuro_av", "sim", str(run), "--backend", "lava-fixed", "--out", str(out),
           "--no-progress", "--workers", "2", "--lanes", "1"]
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    # the shard options are written just before the workers start simulating
    _kill_when(proc, lambda: (out / "shards" / "1" / "options.json").is_file(), "the workers' start")
    time.sleep(1.0)  # the workers die with their parent (PR_SET_PDEATHSIG)
    assert not (out / "report.json").exists() and not (out / "report.html").exists()
    done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads((out / "report.json").read_text())
    assert report["clips"] > 0 and report["backends"]["lava-fixed"]["spike_agreement_vs_reference"] > 0.9
