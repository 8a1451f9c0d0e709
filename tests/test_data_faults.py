"""Bad data folders, damaged caches and refusing disks: one line naming the file (or a notice and a
correct result), never a traceback. Every fault is real: real links, real corrupt files, a real
file-size limit, real read-only and full file systems (tmpfs, where this machine lets us mount)."""
import contextlib
import os
import resource
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
from helpers import REPO, tiny_synthetic

sys.path.insert(0, str(Path(__file__).parent / "data"))
from data_fixtures import small_splits, write_dataset  # noqa: E402

from neuro_av.cli.main import main  # noqa: E402
from neuro_av.data.dataset import AVGZSLData, DataConfig  # noqa: E402
from neuro_av.errors import DataError  # noqa: E402

SPL = small_splits(["Archery", "Bowling"], ["Diving"], ["Fencing"])
TINY = ["--epochs", "1", "--set", "batches_per_epoch=1", "--set", "batch_size=8", "--no-progress"]
# the tiny fixture's features are 6-d (audio) and 5-d (video): train a model of that size
SMALL_DIMS = ["--set", "audio_dim=6", "--set", "video_dim=5"]


def _one_line(capsys, *fragments) -> str:
    err = capsys.readouterr().err.strip()
    lines = [line for line in err.splitlines() if not line.startswith("neuro-av: notice:")]
    assert len(lines) == 1 and "Traceback" not in err, err
    for f in fragments:
        assert f in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def ds(tmp_path):
    return write_dataset(tmp_path, "Bad", SPL, layout="averaged")


def _train(root, out, *extra):
    return ["train", "--model", "avca", "--data", str(root), "--dataset", "Bad", "--out", str(out), *TINY, *extra]


AUDIO = "features/main_features/audio/stage_1_train"


def test_feature_file_holding_strings_is_one_line(ds, tmp_path, capsys):
    f = ds / AUDIO / "Bowling.h5"
    f.unlink()
    with h5py.File(f, "w") as h:
        h.create_dataset("data", data=np.array([b"a", b"b"]))
        h.create_dataset("video_urls", data=np.array([b"u0", b"u1"]))
    assert main(_train(tmp_path, tmp_path / "r", *SMALL_DIMS)) == 2
    _one_line(capsys, str(f), "'data' holds", "not numbers")
    assert not (tmp_path / "r" / "config.json").exists()  # refused before the run folder was written


def test_temporal_features_holding_complex_values_are_one_line(tmp_path, capsys):
    import pickle

    from neuro_av.data.safe_pickle import load_pickle

    write_dataset(tmp_path, "Bad", SPL, layout="temporal")
    f = tmp_path / "Bad" / AUDIO / "Bowling.pkl"
    obj = load_pickle(f)
    obj["features"] = [np.asarray(c) + 1j for c in obj["features"]]  # float32 would keep the real part only
    f.write_bytes(pickle.dumps(obj))
    assert main(_train(tmp_path, tmp_path / "r", *SMALL_DIMS)) == 2
    _one_line(capsys, str(f), "'features' must hold [T, dim] arrays of numbers (they hold complex values)")


def test_wrong_feature_dimension_names_file_expected_and_found(ds, tmp_path, capsys):
    assert main(_train(tmp_path, tmp_path / "r")) == 2  # avca expects 512-d features; these are 6-d
    _one_line(capsys, "Archery.h5", "audio features are 6-dimensional, the model expects 512", "--set audio_dim=6")


@pytest.mark.parametrize("fault", ["dangling", "loop", "directory"])
def test_a_class_file_that_is_a_broken_link_or_a_folder_is_named(ds, tmp_path, capsys, fault):
    f = ds / AUDIO / "Bowling.h5"
    f.unlink()
    if fault == "dangling":
        f.symlink_to(tmp_path / "gone.h5")
        said = f"is a dangling symbolic link (to {tmp_path / 'gone.h5'})"
    elif fault == "loop":
        f.symlink_to(f.name)  # points at itself
        said = "is a symbolic link loop"
    else:
        f.mkdir()
        said = "is a folder, not a file"
    with pytest.raises(DataError, match="feature file .*Bowling.h5 " + said.split(" (")[0]):
        AVGZSLData(DataConfig(str(tmp_path), "Bad")).folder("stage_1_train")
    assert main(_train(tmp_path, tmp_path / "r", *SMALL_DIMS)) == 2
    _one_line(capsys, str(f), said)
    assert main(["data", "inspect", "--data", str(tmp_path), "--dataset", "Bad"]) == 1
    assert said.replace(" ", "") in "".join(capsys.readouterr().out.split())  # inspect wraps at 100 columns


def test_a_dangling_split_file_and_a_looping_data_root(ds, tmp_path, capsys):
    split = ds / "class-split/main_split/stage_2_test_unseen.txt"
    split.unlink()
    split.symlink_to(tmp_path / "nowhere.txt")
    assert main(_train(tmp_path, tmp_path / "r", *SMALL_DIMS)) == 2
    _one_line(capsys, "class-split file", "is a dangling symbolic link")
    loop = tmp_path / "loop"
    loop.symlink_to(loop)
    assert main(["train", "--model", "avca", "--data", str(loop), "--out", str(tmp_path / "r2"), *TINY]) == 2
    _one_line(capsys, "data root", "is a symbolic link loop")


@pytest.mark.parametrize("content", ["{not json", "[1, 2]", ""])
def test_a_corrupt_dataset_json_is_one_line(ds, tmp_path, capsys, content):
    (ds / "dataset.json").write_text(content)
    assert main(_train(tmp_path, tmp_path / "r", *SMALL_DIMS)) == 2
    _one_line(capsys, "dataset description", "dataset.json")
    assert main(["data", "inspect", "--data", str(tmp_path), "--dataset", "Bad"]) == 1
    assert "dataset.json" in capsys.readouterr().out


def _cache_entries(cache: Path) -> list[Path]:
    return sorted(p for p in (cache / "features").iterdir() if p.is_dir())


@pytest.mark.parametrize("damage", ["manifest", "truncated_npy", "missing_npy"])
def test_a_damaged_cache_is_rebuilt_with_a_notice(ds, tmp_path, monkeypatch, capsys, damage):
    cache = tmp_path / "cache"
    monkeypatch.setenv("NEURO_AV_CACHE", str(cache))
    data = AVGZSLData(DataConfig(str(tmp_path), "Bad"))
    want = np.array(data.folder("stage_1_train").audio)
    entry = _cache_entries(cache)[0]
    if damage == "manifest":
        (entry / "manifest.json").write_text("{garbage")
    elif damage == "truncated_npy":
        raw = (entry / "audio.npy").read_bytes()
        (entry / "audio.npy").write_bytes(raw[: len(raw) // 2])
    else:
        (entry / "video.npy").unlink()
    capsys.readouterr()
    got = AVGZSLData(DataConfig(str(tmp_path), "Bad")).folder("stage_1_train")
    assert f"feature cache {entry} is damaged" in capsys.readouterr().err
    np.testing.assert_array_equal(np.array(got.audio), want)


def test_a_cache_that_cannot_be_written_falls_back_to_reading_without_it(ds, tmp_path, monkeypatch, capsys):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("NEURO_AV_CACHE", str(blocker / "cache"))  # mkdir under a file: ENOTDIR, even for root
    got = AVGZSLData(DataConfig(str(tmp_path), "Bad")).folder("stage_1_train")
    assert "cannot be written" in capsys.readouterr().err
    monkeypatch.setenv("NEURO_AV_CACHE", str(tmp_path / "good"))
    np.testing.assert_array_equal(got.audio, AVGZSLData(DataConfig(str(tmp_path), "Bad")).folder("stage_1_train").audio)


# -- disks that refuse ---------------------------------------------------------------------------
@contextlib.contextmanager
def _tmpfs(where: Path, options: str):
    where.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.strip()})")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    return tiny_synthetic(tmp_path_factory.mktemp("synth"))


@pytest.fixture
def warm_cache(synth, tmp_path, monkeypatch):
    """The feature cache built beforehand, so the faults below hit the run folder only."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("NEURO_AV_CACHE", str(cache))
    data = AVGZSLData(DataConfig(str(synth), "SynthAV"))
    for name in ("train", "val", "train_val", "test"):
        data.protocol_set(name)
    return cache


def _train_synth(synth, out, *extra):
    return [sys.executable, "-m", "neuro_av", "train", "--model", "avca", "--data", str(synth), "--out", str(out),
            "--epochs", "1", "--set", "batches_per_epoch=1", "--set", "batch_size=16", "--no-progress", *extra]


def test_a_file_size_limit_is_one_line_naming_the_file_and_leaves_no_temporary(synth, warm_cache, tmp_path):
    out = tmp_path / "run"

    def limit():  # ulimit -f 1024 (1 MiB): the state and the checkpoint are larger
        resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, 1 << 20))

    proc = subprocess.run(_train_synth(synth, out), preexec_fn=limit, capture_output=True, text=True, cwd=REPO,
                          env={**os.environ, "NEURO_AV_CACHE": str(warm_cache)})
    assert proc.returncode == 2, proc.stderr[-2000:]
    err = proc.stderr.strip().splitlines()[-1]
    assert "Traceback" not in proc.stderr
    assert f"cannot write {out / 'state.pt'}: File too large; the file-size limit (ulimit -f)" in err, err
    assert not [p for p in out.iterdir() if ".tmp-" in p.name]


def test_a_full_disk_is_one_line(synth, warm_cache, tmp_path):
    with _tmpfs(tmp_path / "small", "size=1m") as disk:
        proc = subprocess.run(_train_synth(synth, disk / "run"), capture_output=True, text=True, cwd=REPO,
                              env={**os.environ, "NEURO_AV_CACHE": str(warm_cache)})
        assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
        assert "No space left on device; free space there or choose another folder" in proc.stderr.strip().splitlines()[-1]
        assert not [p for p in (disk / "run").iterdir() if ".tmp-" in p.name]


def test_a_read_only_out_is_one_line(synth, warm_cache, tmp_path):
    with _tmpfs(tmp_path / "ro", "ro,size=1m") as disk:
        proc = subprocess.run(_train_synth(synth, disk / "run"), capture_output=True, text=True, cwd=REPO,
                              env={**os.environ, "NEURO_AV_CACHE": str(warm_cache)})
        assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
        line = proc.stderr.strip().splitlines()[-1]
        assert f"cannot write {disk / 'run'}: Read-only file system; choose a writable folder" in line, line


def test_a_read_only_cache_falls_back_with_a_notice(synth, tmp_path, capsys):
    with _tmpfs(tmp_path / "rocache", "ro,size=1m") as disk:
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("NEURO_AV_CACHE", str(disk))
            clips, _, _ = AVGZSLData(DataConfig(str(synth), "SynthAV")).protocol_set("test")
        assert "cannot be written (Read-only file system)" in capsys.readouterr().err
        assert len(clips) > 0 and np.isfinite(clips.audio).all()


def test_batch_size_one_is_refused_before_work(synth, tmp_path, capsys):
    out = tmp_path / "r"
    assert main(["train", "--model", "avca", "--data", str(synth), "--out", str(out), "--set", "batch_size=1",
                 "--no-progress"]) == 2
    _one_line(capsys, "batch_size=1", "BatchNorm", "--set batch_size=2")
    assert not out.exists()


def _tiny_nir(folder: Path) -> tuple[Path, Path]:
    """A NIR graph Input(2) → Affine → LIF(3) → Output and a 20-step input for it."""
    import nir

    n = 3
    nodes = {"input": nir.Input(input_type=np.array([2])), "fc": nir.Affine(weight=np.ones((n, 2)), bias=np.zeros(n)),
             "lif": nir.LIF(tau=np.full(n, 1e-3), r=np.ones(n), v_leak=np.zeros(n), v_threshold=np.ones(n)),
             "output": nir.Output(output_type=np.array([n]))}
    nir.write(folder / "g.nir", nir.NIRGraph(nodes=nodes, edges=[("input", "fc"), ("fc", "lif"), ("lif", "output")]))
    np.save(folder / "x.npy", np.random.default_rng(0).random((20, 2)))
    return folder / "g.nir", folder / "x.npy"


def _sim_nir(graph, x, out):
    return [sys.executable, "-m", "neuro_av", "sim", "--nir", str(graph), "--input", str(x), "--dt", "1e-4",
            "--backend", "reference", "--out", str(out), "--no-progress"]


@pytest.mark.parametrize("fault", ["ulimit", "full", "read-only"])
def test_sim_on_a_disk_that_refuses_is_one_line_naming_the_report_and_leaves_nothing(tmp_path, fault):
    graph, x = _tiny_nir(tmp_path)

    def limit():  # ulimit -f 32 (32 KiB): report.html is larger
        resource.setrlimit(resource.RLIMIT_FSIZE, (32 << 10, 32 << 10))

    said = {"ulimit": "File too large; the file-size limit (ulimit -f)", "full": "No space left on device",
            "read-only": "Read-only file system"}[fault]
    with contextlib.ExitStack() as stack:
        if fault == "ulimit":
            out, pre = tmp_path / "o", limit
        else:
            out, pre = stack.enter_context(_tmpfs(tmp_path / "disk", "ro,size=64k" if fault == "read-only"
                                                   else "size=64k")) / "o", None
        proc = subprocess.run(_sim_nir(graph, x, out), preexec_fn=pre, capture_output=True, text=True, cwd=REPO)
        assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
        line = proc.stderr.strip().splitlines()[-1]
        assert f"cannot write {out}" in line and said in line and ".tmp-" not in line, line
        assert not out.exists()


def test_a_w2v_csv_that_is_not_utf8_is_one_line(ds, tmp_path, capsys):
    (csv_file,) = (ds / "class-split").glob("*_w2v_class_names.csv")
    csv_file.write_bytes(b"\xb6\xa9\x00 not text")
    assert main(_train(tmp_path, tmp_path / "r", *SMALL_DIMS)) == 2
    _one_line(capsys, str(csv_file), "not a UTF-8 csv")
