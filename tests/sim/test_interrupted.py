"""An export or a sim killed or interrupted midway leaves nothing a later step trusts: the next run redoes the step.

Export and sim write into a private folder inside their output folder and move the files in when they
have finished, the manifest (report.json) last, so a killed export has no manifest and a killed sim no
report; the next run removes the private folder of the killed one.
"""
import json
import os
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
    # the NIR graph is the first file (written in export's private folder); the Lava check that follows takes seconds
    _kill_when(proc, lambda: (export / f".export.tmp-{proc.pid}" / "snn.nir").is_file(), "the first exported file")
    assert not (export / "manifest.json").exists() and not (export / "snn.nir").exists()
    capsys.readouterr()
    assert main(["sim", str(run), "--backend", "lava-float", "--out", str(tmp_path / "sim"), "--no-progress"]) == 0
    printed = " ".join(capsys.readouterr().out.split())  # console lines wrap at 100 columns
    assert "manifest.json is missing" in printed and re.search(r"exporting \([a-z, ]*lava[a-z, ]*\) first", printed)
    manifest = json.loads((export / "manifest.json").read_text())
    assert manifest["fidelity"]["lava_float_spike_agreement"] == 1.0
    assert not [p.name for p in export.iterdir() if ".tmp-" in p.name]  # the killed export's private folder is gone
    report = json.loads((tmp_path / "sim" / "report.json").read_text())
    assert report["backends"]["lava-float"]["spike_agreement_vs_reference"] == 1.0


def test_killed_sim_writes_no_report_and_the_rerun_does(tiny_runs, tmp_path):
    run = _copy_run(tiny_runs["stft"], tmp_path / "run")
    assert main(["export", str(run), "--target", "lava", "--check-clips", "2"]) == 0
    out = tmp_path / "sim"
    cmd = [sys.executable, "-m", "neuro_av", "sim", str(run), "--backend", "lava-fixed", "--out", str(out),
           "--no-progress", "--workers", "2", "--lanes", "1"]
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    # the shard options are written, in the run's private folders, just before the workers start simulating
    _kill_when(proc, lambda: any(out.glob(f".sim.tmp-{proc.pid}/.shards.tmp-{proc.pid}-*/1/options.json")),
               "the workers' start")
    time.sleep(1.0)  # the workers die with their parent (PR_SET_PDEATHSIG)
    assert not (out / "report.json").exists() and not (out / "report.html").exists()
    done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads((out / "report.json").read_text())
    assert report["clips"] > 0 and report["backends"]["lava-fixed"]["spike_agreement_vs_reference"] > 0.9
    assert not [p.name for p in out.iterdir() if ".tmp-" in p.name]  # the killed run's private folder is gone


def test_ctrl_c_of_sim_with_workers_ends_every_process_and_writes_no_report(tiny_runs, tmp_path):
    run = _copy_run(tiny_runs["stft"], tmp_path / "run")
    assert main(["export", str(run), "--target", "nir", "--target", "lava", "--check-clips", "2"]) == 0
    out = tmp_path / "sim"
    cmd = [sys.executable, "-m", "neuro_av", "sim", str(run), "--backend", "lava-fixed", "--out", str(out),
           "--no-progress", "--workers", "2", "--lanes", "1", "--split", "train_val"]
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    t0 = time.monotonic()
    while not any(out.glob(f".sim.tmp-{proc.pid}/.shards.tmp-{proc.pid}-*/1/options.json")):
        assert proc.poll() is None and time.monotonic() - t0 < 240, proc.stderr.read()
        time.sleep(0.05)
    time.sleep(8.0)  # the workers are simulating in Lava
    os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C: the parent, both workers and all their Lava processes
    t0 = time.monotonic()
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and time.monotonic() - t0 < 5.0, err
    assert err.strip() == f"neuro-av sim: interrupted; nothing written to {out}"
    assert not out.exists()
    time.sleep(1.0)
    with pytest.raises(ProcessLookupError):  # nothing is left of the group
        os.killpg(proc.pid, 0)
