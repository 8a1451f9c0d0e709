"""After `neuro-av sim` ends — normally, on SIGTERM or SIGINT midway, or killed with SIGKILL — no
process it started is left, and no shared-memory segment it created remains."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = [pytest.mark.lava, pytest.mark.slow]

SHM = Path("/dev/shm")


def _session_members(sid: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == sid and fields[0] != "Z":  # field 6 of stat: session id
            pids.append(int(entry.name))
    return pids


def _shm() -> set[str]:
    return {p.name for p in SHM.iterdir()} if SHM.is_dir() else set()


def _start(run: Path, out: Path) -> subprocess.Popen:
    # --lanes 1 (clips back to back) keeps Lava busy long enough to be interrupted midway
    cmd = [sys.executable, "-m", "neuro_av", "sim", str(run), "--backend", "lava-float", "--backend", "lava-fixed",
           "--out", str(out), "--no-progress", "--split", "train_val", "--lanes", "1"]
    return subprocess.Popen(cmd, start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _wait_for_lava(proc: subprocess.Popen, timeout: float = 240) -> None:
    """Until Lava's processes are up (the session holds several more than the harness)."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        assert proc.poll() is None, proc.stdout.read()
        if len(_session_members(proc.pid)) >= 6:
            time.sleep(1.0)
            return
        time.sleep(0.2)
    raise AssertionError("Lava never started")


def _assert_clean(sid: int, shm_before: set[str]) -> None:
    t0 = time.monotonic()
    while _session_members(sid) and time.monotonic() - t0 < 30:
        time.sleep(0.5)
    assert _session_members(sid) == [], "processes left behind"
    leaked = _shm() - shm_before
    t0 = time.monotonic()
    while leaked and time.monotonic() - t0 < 30:  # the resource tracker unlinks after its users are gone
        time.sleep(0.5)
        leaked = _shm() - shm_before
    assert not leaked, f"shared memory left behind: {sorted(leaked)[:5]}"


def test_finished_run_leaves_nothing(tiny_runs, tmp_path):
    before = _shm()
    proc = _start(tiny_runs["stft"], tmp_path / "sim")
    out, _ = proc.communicate(timeout=600)
    assert proc.returncode == 0, out
    _assert_clean(proc.pid, before)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGKILL])
def test_run_killed_midway_leaves_nothing(tiny_runs, tmp_path, sig):
    before = _shm()
    proc = _start(tiny_runs["stft"], tmp_path / "sim")
    _wait_for_lava(proc)
    os.kill(proc.pid, sig)
    proc.wait(timeout=120)
    assert proc.returncode != 0
    _assert_clean(proc.pid, before)
    assert not (tmp_path / "sim" / "report.json").exists()
