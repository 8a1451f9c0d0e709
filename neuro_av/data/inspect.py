"""``neuro-av data inspect``: what is in a dataset folder, and every problem found in it.

Reads every class file once (no cache is written) and collects problems instead of stopping at the
first, so one run after a download lists everything to fix. ``problems`` are what stops the data
from being used as it is; ``notices`` are quirks neuro-av handles (and says so).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from neuro_av.data.features import (
    EXTENSIONS,
    MODALITIES,
    class_file,
    detect_layout,
    features_dir,
    read_class_file,
)
from neuro_av.data.splits import (
    FEATURE_FOLDERS,
    SPLIT_FOLDERS,
    SPLIT_STEMS,
    DataError,
    dataset_spec,
    load_class_splits,
)
from neuro_av.data.text import (
    align_text,
    legacy_mismatches,
    read_name_map,
    read_text_dict,
    text_file,
)


def _folder_stats(feat_dir: Path, folder: str, names, layout: str, problems: list[str]) -> dict:
    lengths, dims, classes_read = [], {m: set() for m in MODALITIES}, 0
    expected = {n.casefold() for n in names}
    for m in MODALITIES:
        d = feat_dir / m / folder
        if d.is_dir():
            ext = EXTENSIONS[layout]
            extra = sorted(p.name for p in d.glob(f"*{ext}") if p.name[: -len(ext)].casefold() not in expected)
            if extra:
                problems.append(f"{d}: {len(extra)} files of classes not in the split file (ignored): {extra[:3]}")
    for name in names:
        per_mod = {}
        for m in MODALITIES:
            try:
                per_mod[m] = read_class_file(class_file(feat_dir / m / folder, name, layout), layout)
            except DataError as exc:
                problems.append(str(exc))
        if len(per_mod) != len(MODALITIES):
            continue
        (a_clips, a_urls), (v_clips, v_urls) = per_mod["audio"], per_mod["video"]
        if a_urls != v_urls:
            problems.append(f"{feat_dir}/{{audio,video}}/{folder}/{name}: audio and video list different clips")
            continue
        classes_read += 1
        lengths += [c.shape[0] for c in a_clips]
        dims["audio"] |= {c.shape[1] for c in a_clips}
        dims["video"] |= {c.shape[1] for c in v_clips}
    for m in MODALITIES:
        if len(dims[m]) > 1:
            problems.append(f"{feat_dir}/{m}/{folder}: several feature dims {sorted(dims[m])}")
    steps = {"min": int(min(lengths)), "mean": float(np.mean(lengths)), "max": int(max(lengths))} if lengths else None
    return {"clips": len(lengths), "classes_with_features": classes_read, "steps": steps,
            "audio_dim": sorted(dims["audio"]), "video_dim": sorted(dims["video"])}


def inspect_dataset(root: Path, dataset: str, features: str = "main", layout: str = "auto") -> dict:
    root = Path(root).resolve()
    report = {"root": str(root), "dataset": dataset, "features": features, "layout": None, "splits": {},
              "text": None, "problems": [], "notices": []}
    problems = report["problems"]
    try:
        spec = dataset_spec(root, dataset)
        splits = load_class_splits(root, dataset, features)
    except DataError as exc:
        problems.append(str(exc))
        return report
    report["notices"] += list(splits.notices)
    report["classes"] = len(splits.all_classes)
    feat_dir = features_dir(root, dataset, features)
    try:
        report["layout"] = layout if layout != "auto" else detect_layout(feat_dir, FEATURE_FOLDERS)
    except DataError as exc:
        problems.append(str(exc))
    folder_stats = {}
    if report["layout"]:
        for folder in FEATURE_FOLDERS:
            folder_stats[folder] = _folder_stats(feat_dir, folder, splits.splits[folder], report["layout"], problems)
    for stem in SPLIT_STEMS:
        entry = {"classes": len(splits.splits[stem]), "clips": 0, "feature_folders": list(SPLIT_FOLDERS[stem])}
        parts = [folder_stats[f] for f in SPLIT_FOLDERS[stem] if f in folder_stats]
        if parts:
            entry["clips"] = sum(p["clips"] for p in parts)
            entry["audio_dim"] = sorted({d for p in parts for d in p["audio_dim"]})
            entry["video_dim"] = sorted({d for p in parts for d in p["video_dim"]})
            steps = [p["steps"] for p in parts if p["steps"]]
            if steps:
                entry["steps"] = {"min": min(s["min"] for s in steps), "max": max(s["max"] for s in steps),
                                  "mean": float(np.average([s["mean"] for s in steps], weights=[p["clips"] for p in parts if p["steps"]]))}
        report["splits"][stem] = entry
    union = set(splits.splits["stage_1_train"]) | set(splits.splits["stage_1_val_unseen"])
    if union != set(splits.splits["stage_2_train"]):
        problems.append("stage_2_train.txt is not stage_1_train ∪ stage_1_val_unseen, as the protocol assumes")
    try:
        tpath = text_file(root, dataset, features)
        text = read_text_dict(tpath)
        csv_path = root / dataset / "class-split" / spec.w2v_csv if spec.w2v_csv else None
        name_map = read_name_map(csv_path)
        align_text(splits.all_classes, text, name_map, "by_name", source=str(tpath))  # raises on a missing vector
        report["text"] = {"file": str(tpath), "vectors": len(text), "dim": int(next(iter(text.values())).shape[0]),
                          "legacy_avca_differs": len(legacy_mismatches(splits.all_classes, text, name_map))}
    except DataError as exc:
        problems.append(str(exc))
    return report
