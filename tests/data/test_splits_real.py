"""The readers on the real published split and text files (../shared/data/avgzsl)."""
import pytest

from neuro_av.data.splits import load_class_splits
from neuro_av.data.text import legacy_mismatches, read_name_map, read_text_dict

pytestmark = pytest.mark.shared_data

# the benchmarks' class-split sizes: stage_1_train / stage_1_val_unseen / stage_2_train / stage_2_test_unseen
EXPECTED = {
    ("UCF", "main"): (30, 12, 42, 9), ("UCF", "cls"): (30, 12, 42, 6),
    ("VGGSound", "main"): (138, 69, 207, 69), ("VGGSound", "cls"): (138, 69, 207, 64),
    ("ActivityNet", "main"): (99, 51, 150, 50), ("ActivityNet", "cls"): (99, 51, 150, 48),
}
TEXT = {"UCF": ("ucf", "ucf_w2v_class_names.csv"), "VGGSound": ("vggsound", "vggsound_w2v_class_names.csv"),
        "ActivityNet": ("activity", "activitynet_w2v_class_names.csv")}


@pytest.mark.parametrize("dataset,features", sorted(EXPECTED))
def test_class_counts_match_the_protocol(shared_data, dataset, features):
    s = load_class_splits(shared_data / "avgzsl", dataset, features)
    got = tuple(len(s.splits[k]) for k in ("stage_1_train", "stage_1_val_unseen", "stage_2_train", "stage_2_test_unseen"))
    assert got == EXPECTED[(dataset, features)]
    assert len(s.splits["stage_1_val_seen"]) == got[0] and len(s.splits["stage_2_test_seen"]) == got[2]
    seen, unseen = s.protocol_classes("test")
    assert not set(seen) & set(unseen)
    assert set(s.protocol_classes("train_val")[0]) == set(s.ids(s.splits["stage_2_train"]))


def test_case_only_mismatch_of_the_ucf_files_is_matched_and_reported(shared_data):
    s = load_class_splits(shared_data / "avgzsl", "UCF", "main")
    assert "HandstandPushups" in s.splits["stage_1_train"]
    assert any("'HandStandPushups' matched to 'HandstandPushups'" in p for p in s.notices)


def test_vggsound_names_keep_spaces_and_commas(shared_data):
    s = load_class_splits(shared_data / "avgzsl", "VGGSound", "main")
    assert "bee, wasp, etc. buzzing" in s.all_classes


@pytest.mark.parametrize("dataset,expected", [("UCF", 79), ("VGGSound", 205), ("ActivityNet", 8)])
def test_legacy_avca_alignment_gives_classes_foreign_vectors(shared_data, dataset, expected):
    key, csv = TEXT[dataset]
    root = shared_data / "avgzsl"
    s = load_class_splits(root, dataset, "main")
    text = read_text_dict(root / "text" / f"word_embeddings_{key}_normed.npy")
    differ = legacy_mismatches(s.all_classes, text, read_name_map(root / dataset / "class-split" / csv))
    print(f"{dataset}: legacy_avca gives {len(differ)} of {len(s.all_classes)} classes another class's vector")
    assert len(differ) == expected  # the public loader's pairing: UCF 79 of 101


def test_inspect_of_the_real_ucf_files_exits_0_with_the_case_notice(shared_data, tmp_path, capsys):
    """The published UCF class-split and text files, with small stand-in features per class (the real
    features are not bundled): the letter-case quirk is a handled notice, not a problem."""
    import shutil

    import h5py
    import numpy as np

    from neuro_av.cli.main import main
    from neuro_av.data.splits import FEATURE_FOLDERS

    ucf = tmp_path / "UCF"
    shutil.copytree(shared_data / "avgzsl" / "UCF" / "class-split", ucf / "class-split")
    text = ucf / "features" / "main_features" / "text"
    text.mkdir(parents=True)
    shutil.copy(shared_data / "avgzsl" / "text" / "word_embeddings_ucf_normed.npy", text)
    splits = load_class_splits(tmp_path, "UCF", "main")
    rng = np.random.default_rng(0)
    for folder in FEATURE_FOLDERS:
        for cls in splits.splits[folder]:
            for m in ("audio", "video"):
                out = ucf / "features" / "main_features" / m / folder
                out.mkdir(parents=True, exist_ok=True)
                with h5py.File(out / f"{cls}.h5", "w") as f:
                    f.create_dataset("data", data=rng.standard_normal((2, 8)).astype(np.float32))
                    f.create_dataset("video_urls", data=np.array([b"a", b"b"]))
    assert main(["data", "inspect", "--root", str(tmp_path), "--dataset", "UCF"]) == 0
    out = capsys.readouterr().out
    flat = " ".join(out.split())  # lines are wrapped at 100 columns
    assert "notice (handled):" in out and "'HandStandPushups' matched to 'HandstandPushups'" in flat
    assert "no problems found" in out
