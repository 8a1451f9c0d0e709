"""Write tiny datasets in the public layouts, for reader tests."""
from __future__ import annotations

import pickle
from pathlib import Path

import h5py
import numpy as np

from neuro_av.data.splits import SPLIT_STEMS


def write_dataset(root: Path, name: str, splits: dict[str, list[str]], *, layout: str, dim=(6, 5), steps=(3,),
                  clips=2, urls_as="bytes", text_dim=4, seed=0, text_key=None) -> Path:
    """``root/name`` with class splits, a text dict, a w2v csv and features of every feature folder.

    ``steps`` cycles over clips (temporal layout), so clips of one class can have different T.
    """
    rng = np.random.default_rng(seed)
    ds = root / name
    all_classes = sorted({c for names in splits.values() for c in names})
    (ds / "class-split" / "main_split").mkdir(parents=True)
    (ds / "class-split" / "all_class.txt").write_text("\n".join(all_classes) + "\n")
    for stem in SPLIT_STEMS:
        (ds / "class-split" / "main_split" / f"{stem}.txt").write_text("\n".join(splits[stem]))  # no final newline
    key = text_key or name.lower()
    if name not in ("UCF", "VGGSound", "ActivityNet"):
        (ds / "dataset.json").write_text(f'{{"text_key": "{key}", "w2v_csv": "{key}_w2v_class_names.csv"}}')
    rows = ['original,manual'] + [f'"{c}","{c.lower()}"' for c in all_classes]
    (ds / "class-split" / f"{key}_w2v_class_names.csv").write_text("\n".join(rows) + "\n")
    text_dir = ds / "features" / "main_features" / "text"
    text_dir.mkdir(parents=True)
    text = {c.lower(): rng.standard_normal(text_dim).astype(np.float32) for c in all_classes}
    np.save(text_dir / f"word_embeddings_{key}_normed.npy", np.array(text, dtype=object), allow_pickle=True)
    for folder in ("stage_1_train", "stage_1_val_seen", "stage_1_val_unseen", "stage_2_test_seen", "stage_2_test_unseen"):
        for cls in splits[folder]:
            urls = [f"{cls}/{folder}/{k}" for k in range(clips)]
            for m, d in zip(("audio", "video"), dim):
                out = ds / "features" / "main_features" / m / folder
                out.mkdir(parents=True, exist_ok=True)
                feats = [rng.standard_normal((steps[k % len(steps)], d)).astype(np.float32) for k in range(clips)]
                if layout == "averaged":
                    enc = [u.encode() for u in urls] if urls_as == "bytes" else urls
                    with h5py.File(out / f"{cls}.h5", "w") as f:
                        f.create_dataset("data", data=np.stack([x.mean(0) for x in feats]))
                        f.create_dataset("video_urls", data=np.array(enc, dtype=object if urls_as == "str" else None),
                                         dtype=h5py.string_dtype() if urls_as == "str" else None)
                else:
                    with open(out / f"{cls}.pkl", "wb") as f:
                        pickle.dump({"features": feats, "video_names": urls, "fps": 1.0}, f)
    return ds


def small_splits(train, val_unseen, test_unseen) -> dict[str, list[str]]:
    return {"stage_1_train": train, "stage_1_val_seen": train, "stage_1_val_unseen": val_unseen,
            "stage_2_train": train + val_unseen, "stage_2_test_seen": train + val_unseen,
            "stage_2_test_unseen": test_unseen}


VGG_STYLE = small_splits(["bee, wasp, etc. buzzing", "bird chirping, tweeting"], ["air horn"], ["alligators, crocodiles hissing"])
