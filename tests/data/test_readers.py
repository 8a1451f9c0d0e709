"""Readers of both public layouts on small fixtures, and every bad-input error."""
import os
import pickle

import h5py
import numpy as np
import pytest
from data_fixtures import VGG_STYLE, small_splits, write_dataset

from neuro_av.data.dataset import AVGZSLData, DataConfig
from neuro_av.data.splits import DataError


@pytest.mark.parametrize("urls_as", ["bytes", "str"])
def test_averaged_layout_with_vggsound_names(tmp_path, urls_as):
    write_dataset(tmp_path, "Vgg", VGG_STYLE, layout="averaged", urls_as=urls_as)
    data = AVGZSLData(DataConfig(str(tmp_path), "Vgg"))
    assert data.layout == "averaged"
    clips, seen, unseen = data.protocol_set("test")
    assert clips.audio.shape == (8, 1, 6) and clips.video.shape == (8, 1, 5)
    assert [data.class_names[i] for i in unseen] == ["alligators, crocodiles hissing"]
    assert "bee, wasp, etc. buzzing/stage_2_test_seen/0" in clips.urls.tolist()
    assert data.text.shape == (4, 4)


def test_temporal_layout_pads_variable_lengths_with_a_mask(tmp_path):
    ds = write_dataset(tmp_path, "Tmp", VGG_STYLE, layout="temporal", steps=(3, 5), clips=2)
    data = AVGZSLData(DataConfig(str(tmp_path), "Tmp"))
    clips = data.folder("stage_1_train")
    assert data.layout == "temporal" and clips.audio.shape == (4, 5, 6)
    assert clips.lengths.tolist() == [3, 5, 3, 5]
    assert clips.mask[0].tolist() == [True, True, True, False, False]
    assert not clips.audio[0, 3:].any()
    raw = pickle.load(open(ds / "features/main_features/audio/stage_1_train/bee, wasp, etc. buzzing.pkl", "rb"))
    np.testing.assert_array_equal(clips.audio[0, :3], raw["features"][0])


def test_text_is_aligned_by_name_through_the_csv(tmp_path):
    write_dataset(tmp_path, "Vgg", VGG_STYLE, layout="averaged")
    data = AVGZSLData(DataConfig(str(tmp_path), "Vgg"))
    raw = np.load(tmp_path / "Vgg/features/main_features/text/word_embeddings_vgg_normed.npy", allow_pickle=True).item()
    for i, c in enumerate(data.class_names):
        np.testing.assert_array_equal(data.text[i], raw[c.lower()])


def test_cache_is_rebuilt_when_a_source_changes(tmp_path):
    ds = write_dataset(tmp_path, "Vgg", VGG_STYLE, layout="averaged")
    data = AVGZSLData(DataConfig(str(tmp_path), "Vgg"))
    before = np.array(data.folder("stage_1_val_unseen").audio)
    path = ds / "features/main_features/audio/stage_1_val_unseen/air horn.h5"
    with h5py.File(path, "r+") as f:
        f["data"][...] = 7.0
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
    after = np.array(data.folder("stage_1_val_unseen").audio)
    assert not np.array_equal(before, after) and (after == 7.0).all()


def test_cache_is_keyed_by_the_absolute_root(tmp_path, monkeypatch):
    a, b = tmp_path / "a", tmp_path / "b"
    write_dataset(a, "Vgg", VGG_STYLE, layout="averaged", seed=1)
    write_dataset(b, "Vgg", VGG_STYLE, layout="averaged", seed=2)
    monkeypatch.chdir(a)
    xa = np.array(AVGZSLData(DataConfig(".", "Vgg")).folder("stage_1_train").audio)
    monkeypatch.chdir(b)
    xb = np.array(AVGZSLData(DataConfig(".", "Vgg")).folder("stage_1_train").audio)
    assert not np.array_equal(xa, xb)


def _corrupt_h5(ds, modality, folder, cls, **datasets):
    with h5py.File(ds / f"features/main_features/{modality}/{folder}/{cls}.h5", "w") as f:
        for k, v in datasets.items():
            f.create_dataset(k, data=v)


SPL = small_splits(["Archery", "Bowling"], ["Diving"], ["Fencing"])


@pytest.mark.parametrize("problem,match", [
    ("mismatched_urls", r"Archery\.h5 and .*Archery\.h5 list different clips"),
    ("wrong_dim", r"video/stage_1_train/Bowling\.h5: feature dim 9 differs from 5"),
    ("nan", r"Bowling\.h5: clip 1 .* NaN"),
    ("empty", r"Bowling\.h5: the class has no clips"),
    ("missing_file", r"feature file .*audio/stage_1_train/Bowling\.h5 is missing"),
])
def test_bad_features_give_clear_errors(tmp_path, problem, match):
    ds = write_dataset(tmp_path, "Bad", SPL, layout="averaged", clips=2)
    urls = np.array([b"x0", b"x1"])
    if problem == "mismatched_urls":
        _corrupt_h5(ds, "video", "stage_1_train", "Archery", data=np.ones((2, 5)), video_urls=np.array([b"x0", b"zz"]))
    elif problem == "wrong_dim":
        _corrupt_h5(ds, "video", "stage_1_train", "Bowling", data=np.ones((2, 9)),
                    video_urls=np.array([b"Bowling/stage_1_train/0", b"Bowling/stage_1_train/1"]))
    elif problem == "nan":
        _corrupt_h5(ds, "audio", "stage_1_train", "Bowling", data=np.array([[0.0] * 6, [np.nan] * 6]), video_urls=urls)
    elif problem == "empty":
        _corrupt_h5(ds, "audio", "stage_1_train", "Bowling", data=np.zeros((0, 6)), video_urls=np.array([], dtype="S1"))
    elif problem == "missing_file":
        (ds / "features/main_features/audio/stage_1_train/Bowling.h5").unlink()
    with pytest.raises(DataError, match=match):
        AVGZSLData(DataConfig(str(tmp_path), "Bad")).folder("stage_1_train")


def test_missing_split_file_unknown_dataset_and_missing_text(tmp_path):
    ds = write_dataset(tmp_path, "Bad", SPL, layout="averaged")
    with pytest.raises(DataError, match="unknown dataset 'Nope'.*known are UCF, VGGSound, ActivityNet"):
        AVGZSLData(DataConfig(str(tmp_path), "Nope"))
    (ds / "features/main_features/text/word_embeddings_bad_normed.npy").unlink()
    with pytest.raises(DataError, match="text embeddings file .*word_embeddings_bad_normed.npy is missing"):
        AVGZSLData(DataConfig(str(tmp_path), "Bad")).text
    (ds / "class-split/main_split/stage_2_test_unseen.txt").unlink()
    with pytest.raises(DataError, match="class-split file .*stage_2_test_unseen.txt is missing"):
        AVGZSLData(DataConfig(str(tmp_path), "Bad"))
    with pytest.raises(DataError, match="data root .* does not exist"):
        DataConfig(str(tmp_path / "absent"), "Bad")


def test_a_class_without_text_vector_is_named(tmp_path):
    ds = write_dataset(tmp_path, "Bad", SPL, layout="averaged")
    path = ds / "features/main_features/text/word_embeddings_bad_normed.npy"
    text = np.load(path, allow_pickle=True).item()
    del text["diving"]
    np.save(path, np.array(text, dtype=object), allow_pickle=True)
    with pytest.raises(DataError, match=r"no vector for 1 classes: 'Diving' \(looked up as 'diving'\)"):
        AVGZSLData(DataConfig(str(tmp_path), "Bad")).text
