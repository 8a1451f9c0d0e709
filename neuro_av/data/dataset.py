"""One AV-GZSL dataset on disk: class splits, aligned text embeddings and the protocol's clip sets."""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from neuro_av.data.features import (
    LAYOUTS,
    ClipSet,
    detect_layout,
    features_dir,
    load_folder,
)
from neuro_av.data.paths import path_problem
from neuro_av.data.splits import (
    FEATURE_FOLDERS,
    PROTOCOL_SETS,
    DataError,
    dataset_spec,
    load_class_splits,
)
from neuro_av.data.text import TEXT_ALIGNMENTS, load_text_embeddings
from neuro_av.errors import ConfigError


@dataclass(frozen=True)
class DataConfig:
    """Which dataset to read and how. ``root`` holds ``<dataset>/class-split`` and ``<dataset>/features``."""

    root: str
    dataset: str = "UCF"
    features: str = "main"  # "main" (SeLaVi, per second) or "cls" (C3D / VGGish)
    layout: str = "auto"  # "averaged" (AVCA .h5), "temporal" (TCaF .pkl) or "auto"
    text_alignment: str = "by_name"  # or "legacy_avca" to reproduce published numbers (see data.text)
    cache_dir: str | None = None  # default $NEURO_AV_CACHE or ~/.cache/neuro-av

    def __post_init__(self):
        if self.layout not in (*LAYOUTS, "auto"):
            raise ConfigError(f"layout {self.layout!r} is not one of {(*LAYOUTS, 'auto')}")
        if self.text_alignment not in TEXT_ALIGNMENTS:
            raise ConfigError(f"text_alignment {self.text_alignment!r} is not one of {TEXT_ALIGNMENTS}")
        problem = path_problem(Path(self.root), "folder")
        if problem == "is missing":
            raise DataError(f"data root {self.root} does not exist (pass --data, or run `neuro-av data synth`)")
        if problem:
            raise DataError(f"data root {self.root} {problem}: pass the folder that holds <dataset>/")


class AVGZSLData:
    """``expected_dims``: the (audio, video) feature sizes of the model that will read the clips."""

    def __init__(self, cfg: DataConfig, expected_dims: tuple[int, int] | None = None):
        self.cfg = cfg
        self.expected_dims = expected_dims
        self.root = Path(cfg.root).resolve()
        self.spec = dataset_spec(self.root, cfg.dataset)
        problem = path_problem(self.root / cfg.dataset, "folder")
        if problem and problem != "is missing":
            raise DataError(f"dataset folder {self.root / cfg.dataset} {problem}")
        if problem:
            raise DataError(f"dataset folder {self.root / cfg.dataset} does not exist; datasets under "
                            f"{self.root}: {sorted(p.name for p in self.root.iterdir() if p.is_dir())}")
        self.splits = load_class_splits(self.root, cfg.dataset, cfg.features)
        self.feat_dir = features_dir(self.root, cfg.dataset, cfg.features)

    @property
    def class_names(self) -> tuple[str, ...]:
        return self.splits.all_classes

    @cached_property
    def layout(self) -> str:
        return self.cfg.layout if self.cfg.layout != "auto" else detect_layout(self.feat_dir, FEATURE_FOLDERS)

    @cached_property
    def text(self) -> np.ndarray:
        """(C, D_w) float32 text embedding of every class, row = class id."""
        return load_text_embeddings(self.root, self.cfg.dataset, self.cfg.features, self.class_names,
                                    self.cfg.text_alignment)

    def folder(self, folder: str) -> ClipSet:
        names = self.splits.splits[folder]
        ids = dict(zip(names, self.splits.ids(names)))
        cache = Path(self.cfg.cache_dir) if self.cfg.cache_dir else None
        return load_folder(self.feat_dir, folder, ids, self.layout, cache, self.expected_dims)

    def protocol_set(self, name: str) -> tuple[ClipSet, list[int], list[int]]:
        """Clips of a protocol set (train, val, train_val, test) with its sorted seen and unseen class ids."""
        if name not in PROTOCOL_SETS:
            raise ConfigError(f"protocol set {name!r} is not one of {sorted(PROTOCOL_SETS)}")
        clips = ClipSet.concat([self.folder(f) for f in PROTOCOL_SETS[name].folders])
        seen, unseen = self.splits.protocol_classes(name)
        return clips, seen, unseen
