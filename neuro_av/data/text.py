"""Class text embeddings, aligned to class ids.

The benchmarks store ``{text key: vector}`` in ``word_embeddings_<key>_normed.npy`` (a pickled dict,
loaded with the restricted unpickler) and map feature-file class names to text keys in
``class-split/<ds>_w2v_class_names.csv`` (columns ``original``, ``manual``).

Two alignments:

- ``"by_name"`` (default): class ``c`` gets ``text[manual(c)]`` (``manual(c) = c`` when the csv has no
  row for it). Every class gets its own vector.
- ``"legacy_avca"``: what the public AVCA loader does. It sorts the text dict by key and gives the
  class with id ``i`` (position in the sorted class names) the ``i``-th vector of that sorted dict. Where
  the two sort orders differ, a class receives another class's vector (UCF: many of 101). Use it only
  to reproduce published numbers.
"""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from neuro_av.data.paths import path_problem, require
from neuro_av.data.safe_pickle import load_npy_object
from neuro_av.data.splits import DataError, dataset_spec

TEXT_ALIGNMENTS = ("by_name", "legacy_avca")


def text_file(root: Path, dataset: str, features: str) -> Path:
    spec = dataset_spec(root, dataset)
    return Path(root) / dataset / "features" / f"{features}_features" / "text" / f"word_embeddings_{spec.text_key}_normed.npy"


def read_text_dict(path: Path) -> dict[str, np.ndarray]:
    require(Path(path), "text embeddings file", hint="put the benchmark's word_embeddings_*_normed.npy there")
    obj = load_npy_object(Path(path))
    if not isinstance(obj, dict) or not obj:
        raise DataError(f"{path}: expected a non-empty dict {{class name: vector}}, found {type(obj).__name__}")
    out = {}
    dims = set()
    for key, vec in obj.items():
        try:
            arr = np.asarray(vec, dtype=np.float32).reshape(-1)
        except (TypeError, ValueError):
            raise DataError(f"{path}: the vector of {key!r} is not numbers ({type(vec).__name__})") from None
        if not np.isfinite(arr).all():
            raise DataError(f"{path}: the vector of {key!r} contains NaN or inf")
        dims.add(arr.shape[0])
        out[str(key)] = arr
    if len(dims) != 1:
        raise DataError(f"{path}: vectors of different lengths {sorted(dims)}")
    return out


def read_name_map(path: Path | None) -> dict[str, str]:
    """``{original: manual}`` from a w2v class-name csv; empty when there is none."""
    if path is None or path_problem(Path(path)) == "is missing":
        return {}
    require(Path(path), "w2v class-name csv")
    try:
        with open(path, newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            if reader.fieldnames is None or not {"original", "manual"} <= set(reader.fieldnames):
                raise DataError(f"{path}: needs the columns 'original' and 'manual', found {reader.fieldnames}")
            rows = [((row["original"] or "").strip(), (row["manual"] or "").strip()) for row in reader]
            return {o: m for o, m in rows if o and m}  # a short row maps nothing (the class keeps its own name)
    except (UnicodeDecodeError, csv.Error) as exc:
        raise DataError(f"{path}: not a UTF-8 csv ({exc}); download the benchmark's class-split folder again") from None


def align_text(classes: list[str] | tuple[str, ...], text: dict[str, np.ndarray], name_map: dict[str, str],
               alignment: str = "by_name", source: str = "text embeddings") -> np.ndarray:
    """[C, D_w] text embeddings for ``classes`` (sorted class names, i.e. id order)."""
    if alignment == "by_name":
        rows, missing = [], []
        for c in classes:
            key = name_map.get(c, c)
            if key not in text:
                missing.append(f"{c!r} (looked up as {key!r})")
            else:
                rows.append(text[key])
        if missing:
            raise DataError(f"{source}: no vector for {len(missing)} classes: {', '.join(missing[:5])}; "
                            "add them to the w2v class-name csv or the text dict")
        return np.stack(rows)
    if alignment == "legacy_avca":
        ordered = [text[k] for k in sorted(text)]
        if len(ordered) < len(classes):
            raise DataError(f"{source}: legacy_avca needs at least {len(classes)} vectors, found {len(ordered)}")
        return np.stack(ordered[: len(classes)])
    raise DataError(f"text_alignment {alignment!r} is not one of {TEXT_ALIGNMENTS}")


def legacy_mismatches(classes, text: dict[str, np.ndarray], name_map: dict[str, str]) -> list[str]:
    """Classes whose legacy_avca vector is not their own (by-name) vector."""
    by_name = align_text(classes, text, name_map, "by_name")
    legacy = align_text(classes, text, name_map, "legacy_avca")
    return [c for c, a, b in zip(classes, by_name, legacy) if not np.array_equal(a, b)]


def load_text_embeddings(root: Path, dataset: str, features: str, classes, alignment: str = "by_name") -> np.ndarray:
    spec = dataset_spec(root, dataset)
    path = text_file(root, dataset, features)
    csv_path = Path(root) / dataset / "class-split" / spec.w2v_csv if spec.w2v_csv else None
    return align_text(classes, read_text_dict(path), read_name_map(csv_path), alignment, source=str(path))
