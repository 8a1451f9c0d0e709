"""`train --out` owns its folder: a marker, a lock, stale temporaries of killed writers removed,
foreign folders refused, and `--resume` of a finished run answered as finished. Real processes,
real signals, real files."""
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from helpers import REPO, tiny_synthetic

from neuro_av.cli.main import main

TINY = ["--epochs", "2", "--set", "batches_per_epoch=2", "--set", "batch_size=32", "--no-progress"]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return tiny_synthetic(tmp_path_factory.mktemp("data"))


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(autouse=True)
def _shared_cache(cache, monkeypatch):
    monkeypatch.setenv("NEURO_AV_CACHE", str(cache))  # one feature cache for the module's runs


def _train(data, out, *extra):
    return ["train", "--model", "avca", "--data", str(data), "--out", str(out), *TINY, *extra]


def _cli(args):
    return [sys.executable, "-m", "neuro_av", *args]


def _one_line(err: str, *fragments):
    err = err.strip()
    assert err.count("\n") == 0 and "Traceback" not in err, err
    for f in fragments:
        assert f in err, err
    return err


@pytest.fixture(scope="module")
def finished(data, tmp_path_factory, cache):
    out = tmp_path_factory.mktemp("runs") / "done"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("NEURO_AV_CACHE", str(cache))
        assert main(_train(data, out)) == 0
    return out


def test_a_run_folder_carries_the_marker_of_train(finished):
    assert json.loads((finished / ".neuro-av").read_text())["command"] == "train"


def test_a_foreign_folder_is_refused_and_force_replaces_only_run_files(data, tmp_path, capsys):
    out = tmp_path / "theirs"
    out.mkdir()
    (out / "config.json").write_text('{"mine": true}')
    (out / "notes.txt").write_text("keep me")
    assert main(_train(data, out)) == 2
    _one_line(capsys.readouterr().err, str(out), "not written by neuro-av", "--force", "another folder")
    assert json.loads((out / "config.json").read_text()) == {"mine": True}
    assert sorted(p.name for p in out.iterdir()) == ["config.json", "notes.txt"]  # not even a lock file
    assert main(_train(data, out, "--force")) == 0
    assert (out / "notes.txt").read_text() == "keep me"
    assert json.loads((out / "config.json").read_text())["model_name"] == "avca"


def test_out_that_is_a_file_is_one_line(data, tmp_path, capsys):
    f = tmp_path / "afile"
    f.write_text("x")
    assert main(_train(data, f)) == 2
    _one_line(capsys.readouterr().err, f"--out {f} is a file")
    assert main(_train(data, f / "run")) == 2
    _one_line(capsys.readouterr().err, "which is a file")


def test_a_finished_run_is_refused_without_resume_and_reported_finished_with_it(data, finished, capsys):
    metrics = json.loads((finished / "metrics.json").read_text())
    assert main(_train(data, finished)) == 2
    _one_line(capsys.readouterr().err, "holds a finished run", "--force")
    assert main(_train(data, finished, "--resume")) == 0
    cap = capsys.readouterr()
    _one_line(cap.err, "already finished, nothing to resume")
    assert f"HM {metrics['HM']:.2f}" in cap.out
    assert main(_train(data, finished, "--resume", "--set", "lr=5e-4")) == 2
    _one_line(capsys.readouterr().err, "trained with other settings", "train_config.lr: 0.001 -> 0.0005")
    assert json.loads((finished / "metrics.json").read_text()) == metrics


def test_resume_and_force_together_are_refused(data, finished, capsys):
    assert main(_train(data, finished, "--resume", "--force")) == 2
    _one_line(capsys.readouterr().err, "pass one of them")


def test_the_temporary_of_a_sigkilled_writer_is_removed_by_the_next_run(data, tmp_path):
    """A real process, SIGKILLed while neuro_av.io's atomic writer holds state.pt's temporary."""
    out = tmp_path / "run"
    assert main(_train(data, out)) == 0
    writer = textwrap.dedent(f"""
        import os, signal
        from pathlib import Path
        from neuro_av.io import atomic_path
        with atomic_path(Path({str(out / 'state.pt')!r})) as tmp:
            tmp.write_bytes(b"half a state")
            os.kill(os.getpid(), signal.SIGKILL)
        """)
    proc = subprocess.Popen([sys.executable, "-c", writer], cwd=REPO)
    assert proc.wait() == -signal.SIGKILL
    stale = out / f".state.pt.tmp-{proc.pid}"
    assert stale.read_bytes() == b"half a state"  # the kill really left it
    assert main(_train(data, out, "--force")) == 0
    assert not stale.exists()
    assert not [p for p in out.iterdir() if ".tmp-" in p.name]


def test_a_second_process_on_the_same_folder_gets_one_line_and_the_lock_dies_with_its_holder(data, tmp_path, cache):
    out = tmp_path / "busy"
    env = {**os.environ, "NEURO_AV_CACHE": str(cache)}
    first = subprocess.Popen(_cli(_train(data, out, "--epochs", "200")), cwd=REPO, env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        lock = out / ".neuro-av.lock"
        t0 = time.monotonic()
        while not (lock.is_file() and lock.read_text() == str(first.pid)):
            assert first.poll() is None and time.monotonic() - t0 < 60, "the first run never took the lock"
            time.sleep(0.05)
        second = subprocess.run(_cli(_train(data, out, "--force")), cwd=REPO, env=env, capture_output=True, text=True)
        assert first.poll() is None, "the first run ended before the second tried"
        assert second.returncode == 2
        _one_line(second.stderr, f"{out} is being written by another neuro-av process (pid {first.pid})")
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    # the kernel released the dead holder's lock: a new run takes the folder over
    again = subprocess.run(_cli(_train(data, out, "--force")), cwd=REPO, env=env, capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
    assert Path(out / "metrics.json").is_file()
