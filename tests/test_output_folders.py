"""`export --out` and `sim --out` own their folder (neuro_av.output): a foreign folder is refused and
--force takes it, two sims never write one folder, a sim leaves no file of an earlier run, and
Ctrl-C or SIGTERM of a real `neuro-av sim` process group ends every process in it within seconds,
with one line, exit 130 / 143, no report and no temporary folder. Real processes, real signals."""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nir
import numpy as np
import pytest
from helpers import REPO

from neuro_av.cli.main import main

DOC_NET = REPO / "tests" / "export" / "user_models" / "doc_net.py"
LONG_CLIPS = 600  # clips back to back in Lava (--lanes 1): some 15 s of Lava, longer than a test waits


@pytest.fixture
def graph(tmp_path) -> Path:
    """A 4 → 3 LIF graph and inputs for it: x.npy (2 clips, a second's work) and long.npy."""
    rng = np.random.default_rng(0)
    g = nir.NIRGraph(nodes={"input": nir.Input(input_type=np.array([4])),
                            "fc": nir.Affine(weight=rng.uniform(0, 1, (3, 4)), bias=np.zeros(3)),
                            "lif": nir.LIF(tau=np.full(3, 0.01), r=np.ones(3), v_leak=np.zeros(3),
                                           v_threshold=np.full(3, 0.5)),
                            "output": nir.Output(output_type=np.array([3]))},
                     edges=[("input", "fc"), ("fc", "lif"), ("lif", "output")])
    nir.write(tmp_path / "tiny.nir", g)
    np.save(tmp_path / "x.npy", rng.uniform(0, 1, (2, 20, 4)))
    np.save(tmp_path / "long.npy", rng.uniform(0, 1, (LONG_CLIPS, 50, 4)))
    return tmp_path / "tiny.nir"


def _sim(graph: Path, out: Path, *extra, x: str = "x.npy") -> list[str]:
    return ["sim", "--nir", str(graph), "--input", str(graph.parent / x), "--dt", "1e-3", "--out", str(out),
            "--no-progress", *extra]


def _one_line(err: str, *fragments) -> str:
    err = err.strip()
    assert err.count("\n") == 0 and "Traceback" not in err, err
    for f in fragments:
        assert f in err, err
    return err


def _foreign(folder: Path) -> Path:
    folder.mkdir()
    (folder / "manifest.json").write_text('{"mine": true}')
    (folder / "notes.txt").write_text("keep me")
    return folder


def test_export_into_a_foreign_folder_is_refused_and_force_takes_it(tmp_path, capsys):
    np.save(tmp_path / "x.npy", np.random.default_rng(0).uniform(0, 1, (2, 25, 10)))
    out = _foreign(tmp_path / "theirs")
    args = ["export", "--module", f"{DOC_NET}:build", "--input", str(tmp_path / "x.npy"), "--target", "nir",
            "--out", str(out)]
    assert main(args) == 2
    _one_line(capsys.readouterr().err, str(out), "not written by neuro-av", "manifest.json, notes.txt", "--force",
              "another folder")
    assert sorted(p.name for p in out.iterdir()) == ["manifest.json", "notes.txt"]  # untouched, not even a lock
    assert main([*args, "--force"]) == 0
    assert (out / "notes.txt").read_text() == "keep me"
    assert json.loads((out / "manifest.json").read_text())["format"].startswith("neuro-av export manifest")
    assert json.loads((out / ".neuro-av").read_text())["command"] == "export"
    assert not [p for p in out.iterdir() if ".tmp-" in p.name]
    capsys.readouterr()
    assert main(args) == 0  # its own folder now: no --force needed again


def test_sim_into_a_foreign_folder_is_refused(graph, tmp_path, capsys):
    out = _foreign(tmp_path / "theirs")
    assert main(_sim(graph, out, "--backend", "reference")) == 2
    _one_line(capsys.readouterr().err, f"--out {out}", "not written by neuro-av", "--force")
    assert sorted(p.name for p in out.iterdir()) == ["manifest.json", "notes.txt"]
    export = tmp_path / "exported"  # and an export folder is not sim's either
    np.save(tmp_path / "m.npy", np.random.default_rng(0).uniform(0, 1, (2, 25, 10)))
    assert main(["export", "--module", f"{DOC_NET}:build", "--input", str(tmp_path / "m.npy"), "--target", "nir",
                 "--out", str(export)]) == 0
    capsys.readouterr()
    assert main(_sim(graph, export, "--backend", "reference")) == 2
    _one_line(capsys.readouterr().err, "written by `neuro-av export`")


def test_a_rerun_removes_the_spikes_of_the_run_before(graph, tmp_path):
    out = tmp_path / "sim"
    assert main(_sim(graph, out, "--backend", "reference", "--save-spikes")) == 0
    assert (out / "spikes.npz").is_file()
    assert main(_sim(graph, out, "--backend", "reference")) == 0  # its own folder: no --force needed
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == \
        ["report.html", "report.json", "report.md"]


def _session(pid: int) -> list[int]:
    """Living processes of the session ``pid`` leads."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[3]) == pid and fields[0] != "Z":
                found.append(int(entry.name))
    return found


def _start_long_sim(graph: Path, out: Path, env: dict) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "neuro_av", *_sim(graph, out, "--backend", "lava-fixed", "--lanes", "1",
                                                    x="long.npy")]
    return subprocess.Popen(cmd, cwd=REPO, env=env, start_new_session=True, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _wait_until(proc: subprocess.Popen, ready, what: str, timeout: float = 120) -> None:
    t0 = time.monotonic()
    while not ready():
        if proc.poll() is not None:
            raise AssertionError(f"ended (rc {proc.returncode}) before {what}: {proc.stderr.read()}")
        if time.monotonic() - t0 > timeout:
            os.killpg(proc.pid, signal.SIGKILL)
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


@pytest.fixture
def private_tmp():
    """A TMPDIR of the test's own (short: multiprocessing's socket paths under it must fit 107 bytes)."""
    tmp = Path(tempfile.mkdtemp(prefix="nav-test-"))
    yield tmp, {**os.environ, "TMPDIR": str(tmp)}
    shutil.rmtree(tmp, ignore_errors=True)


def test_a_second_sim_into_the_same_folder_refuses_and_a_killed_ones_leftovers_go(graph, tmp_path, private_tmp):
    tmp, env = private_tmp
    out = tmp_path / "sim"
    first = _start_long_sim(graph, out, env)
    try:
        _wait_until(first, lambda: (out / f".sim.tmp-{first.pid}").is_dir(), "the first sim's start")
        second = subprocess.run([sys.executable, "-m", "neuro_av", *_sim(graph, out, "--backend", "reference")],
                                cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
        assert second.returncode == 2
        _one_line(second.stderr, f"--out {out}", "being written by another neuro-av process", f"pid {first.pid}")
        assert not (out / "report.json").exists()
    finally:
        os.killpg(first.pid, signal.SIGKILL)  # as the OOM killer would: nothing of it can clean up
        first.wait()
    assert (out / f".sim.tmp-{first.pid}").is_dir() and list(tmp.glob(f"neuro-av-{first.pid}-*"))
    again = subprocess.run([sys.executable, "-m", "neuro_av", *_sim(graph, out, "--backend", "reference")],
                           cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    assert json.loads((out / "report.json").read_text())["clips"] == 2
    assert not [p.name for p in out.iterdir() if ".tmp-" in p.name]  # the killed sim's stage is gone
    assert list(tmp.iterdir()) == []  # its temporary folder too, and the rerun's own


@pytest.mark.lava
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_ctrl_c_or_sigterm_of_the_process_group_ends_sim_at_once(graph, tmp_path, private_tmp, sig):
    tmp, env = private_tmp
    out = tmp_path / "sim"
    proc = _start_long_sim(graph, out, env)
    _wait_until(proc, lambda: len(_session(proc.pid)) >= 6, "Lava's processes")  # the harness and 5+ of Lava's
    time.sleep(1.0)  # well into the run
    os.killpg(proc.pid, sig)  # as a terminal does: to every process of the group
    t0 = time.monotonic()
    try:
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    took = time.monotonic() - t0
    assert proc.returncode == 128 + sig, err
    assert took < 5.0, f"took {took:.1f} s"
    _one_line(err, f"neuro-av sim: interrupted; nothing written to {out}")
    t0 = time.monotonic()
    while _session(proc.pid) and time.monotonic() - t0 < 5:
        time.sleep(0.1)
    assert _session(proc.pid) == [], "processes left behind"
    assert not out.exists()  # made by this sim, which wrote nothing: removed again
    assert list(tmp.iterdir()) == []  # no neuro-av-*, neuro-av-lava-* or pymp-* folder left
