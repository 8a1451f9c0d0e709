"""The AV-GZSL benchmark layout: dataset registry, class-split files and the protocol's sets.

Layout (AVCA-GZSL, also used by TCaF and by ``neuro-av data synth``)::

    <root>/<DS>/class-split/all_class.txt
    <root>/<DS>/class-split/{main_split,cls_split}/stage_*.txt     one class name per line
    <root>/<DS>/class-split/<w2v csv>                              original name -> text key
    <root>/<DS>/features/{main,cls}_features/{audio,video}/<feature folder>/<Class>.{h5,pkl}
    <root>/<DS>/features/{main,cls}_features/text/word_embeddings_<text key>_normed.npy

Class names keep their exact spelling (VGGSound names contain spaces and commas); only the line
ending and surrounding whitespace are removed, as the public loader does. Class ids are positions in
the sorted list of all classes (AVCA's ``class_to_idx``).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from neuro_av.data.paths import require
from neuro_av.errors import DataError  # noqa: F401  (re-exported: data modules raise it)
from neuro_av.io import FileFormatError, read_json

SPLIT_STEMS = (
    "stage_1_train",
    "stage_1_val_seen",
    "stage_1_val_unseen",
    "stage_2_train",
    "stage_2_test_seen",
    "stage_2_test_unseen",
)
# Folders that hold clips. stage_2_train has none: it is the union of the three stage-1 folders.
FEATURE_FOLDERS = ("stage_1_train", "stage_1_val_seen", "stage_1_val_unseen", "stage_2_test_seen", "stage_2_test_unseen")
SPLIT_FOLDERS = {stem: (stem,) for stem in FEATURE_FOLDERS} | {
    "stage_2_train": ("stage_1_train", "stage_1_val_seen", "stage_1_val_unseen")
}


@dataclass(frozen=True)
class ProtocolSet:
    """One set of the two-stage protocol: which folders hold its clips, which classes are seen/unseen."""

    name: str
    folders: tuple[str, ...]
    seen: tuple[str, ...]  # split stems whose classes are the seen classes
    unseen: tuple[str, ...]


# As the AVCA loader assembles them ("train", "val", "train_val", "test").
PROTOCOL_SETS = {
    "train": ProtocolSet("train", ("stage_1_train",), ("stage_1_train",), ()),
    "val": ProtocolSet("val", ("stage_1_val_seen", "stage_1_val_unseen"), ("stage_1_val_seen",), ("stage_1_val_unseen",)),
    "train_val": ProtocolSet("train_val", SPLIT_FOLDERS["stage_2_train"], ("stage_1_train", "stage_1_val_unseen"), ()),
    "test": ProtocolSet("test", ("stage_2_test_seen", "stage_2_test_unseen"), ("stage_2_test_seen",), ("stage_2_test_unseen",)),
}

FEATURE_KINDS = {"main": ("main_split", "main_features"), "cls": ("cls_split", "cls_features")}


@dataclass(frozen=True)
class DatasetSpec:
    """Where a dataset's text embeddings and name mapping live."""

    name: str  # folder under the root
    text_key: str  # word_embeddings_<text_key>_normed.npy
    w2v_csv: str | None  # class-split/<file>: columns original,manual


KNOWN_DATASETS = {
    "UCF": DatasetSpec("UCF", "ucf", "ucf_w2v_class_names.csv"),
    "VGGSound": DatasetSpec("VGGSound", "vggsound", "vggsound_w2v_class_names.csv"),
    "ActivityNet": DatasetSpec("ActivityNet", "activity", "activitynet_w2v_class_names.csv"),
}
DATASET_JSON = "dataset.json"  # a custom dataset (e.g. the synthetic one) describes itself here


def dataset_spec(root: Path, name: str) -> DatasetSpec:
    """The spec of ``name``: a known benchmark, or a folder with its own ``dataset.json``."""
    folder = Path(root) / name
    meta = folder / DATASET_JSON
    if meta.exists() or meta.is_symlink():
        info = _read_dataset_json(meta)
        try:
            return DatasetSpec(name, str(info["text_key"]), info.get("w2v_csv"))
        except KeyError as exc:
            raise DataError(f"{meta}: field {exc} is missing (needs text_key, optionally w2v_csv)") from None
    if name in KNOWN_DATASETS:
        return KNOWN_DATASETS[name]
    raise DataError(
        f"unknown dataset {name!r}: known are {', '.join(KNOWN_DATASETS)}, or a folder {folder} with a "
        f"{DATASET_JSON} naming its text_key (what `neuro-av data synth` writes)"
    )


def _read_dataset_json(meta: Path) -> dict:
    try:
        info = read_json(meta, "dataset description", "rewrite it, or run `neuro-av data synth --force` again")
    except FileFormatError as exc:
        raise DataError(str(exc)) from None
    if not isinstance(info, dict):
        raise DataError(f"dataset description {meta} must be a JSON object with text_key, found {type(info).__name__}")
    return info


def read_class_list(path: Path) -> list[str]:
    """Class names of one split file, in file order, exact spelling (surrounding whitespace removed)."""
    path = Path(path)
    require(path, "class-split file", hint="download the benchmark's class-split folder or check --data / "
            "--dataset / --features")
    try:
        names = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
    except UnicodeDecodeError as exc:
        raise DataError(f"class-split file {path} is not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    names = [n for n in names if n]
    if not names:
        raise DataError(f"class-split file {path} lists no class")
    if len(set(names)) != len(names):
        dup = sorted({n for n in names if names.count(n) > 1})
        raise DataError(f"class-split file {path} lists classes twice: {dup}")
    return names


@dataclass(frozen=True)
class ClassSplits:
    """All class names (sorted: the id order), the class list of every split file, and notices.

    Split names are given in the spelling of ``all_class.txt``; a split name that differs from it only
    in letter case (the published UCF files write ``HandStandPushups``, all_class.txt
    ``HandstandPushups``) is matched to it and reported in ``notices``: handled, not a problem.
    """

    all_classes: tuple[str, ...]
    splits: dict[str, tuple[str, ...]]
    notices: tuple[str, ...] = ()

    def ids(self, names) -> list[int]:
        index = {c: i for i, c in enumerate(self.all_classes)}
        return [index[n] for n in names]

    def protocol_classes(self, set_name: str) -> tuple[list[int], list[int]]:
        """Sorted seen and unseen class ids of one protocol set."""
        ps = PROTOCOL_SETS[set_name]
        seen = sorted({i for stem in ps.seen for i in self.ids(self.splits[stem])})
        unseen = sorted({i for stem in ps.unseen for i in self.ids(self.splits[stem])})
        return seen, unseen


def load_class_splits(root: Path, dataset: str, features: str = "main") -> ClassSplits:
    if features not in FEATURE_KINDS:
        raise DataError(f"features {features!r} is not one of {sorted(FEATURE_KINDS)}")
    folder = Path(root) / dataset / "class-split"
    all_classes = tuple(sorted(read_class_list(folder / "all_class.txt")))
    split_dir = folder / FEATURE_KINDS[features][0]
    splits = {stem: tuple(read_class_list(split_dir / f"{stem}.txt")) for stem in SPLIT_STEMS}
    known = set(all_classes)
    by_case = {}
    for name in all_classes:
        by_case.setdefault(name.casefold(), []).append(name)
    notices = []
    for stem, names in splits.items():
        fixed = []
        for n in names:
            if n not in known and len(by_case.get(n.casefold(), [])) == 1:
                canonical = by_case[n.casefold()][0]
                notices.append(f"{split_dir / (stem + '.txt')}: {n!r} matched to {canonical!r} of all_class.txt "
                               "(differs in letter case only)")
                n = canonical
            fixed.append(n)
        stray = [n for n in fixed if n not in known]
        if stray:
            raise DataError(f"{split_dir / (stem + '.txt')}: classes not in {folder / 'all_class.txt'}: {stray[:5]}")
        splits[stem] = tuple(fixed)
    return ClassSplits(all_classes, splits, tuple(notices))
