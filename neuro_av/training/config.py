"""Training settings, per-dataset defaults and ``--set key=value`` parsing."""
from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass
from typing import Any

from neuro_av.data.splits import KNOWN_DATASETS


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 12  # stage-1 epochs; stage 2 trains best_epoch + 1
    batches_per_epoch: int = 12
    batch_size: int = 128
    clips_per_class: int = 1  # clips of one class per batch (MFT's L_cos needs >= 2)
    lr: float = 1e-3
    weight_decay: float = 1e-5
    plateau_patience: int = 3  # ReduceLROnPlateau on val HM (stage 1); stage 2 replays its lr
    plateau_factor: float = 0.1
    seed: int = 0
    eval_batch_size: int = 512
    device: str = "auto"  # "auto" (cuda when present), "cpu", "cuda", "cuda:1"

    def __post_init__(self):
        for name in ("epochs", "batches_per_epoch", "batch_size", "clips_per_class", "eval_batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.lr <= 0:
            raise ValueError(f"lr must be positive, got {self.lr}")


# AVCA's protocol on the real benchmarks: 50 epochs × 500 batches of 256 (MODELS.md).
BENCHMARK_TRAINING = {"epochs": 50, "batches_per_epoch": 500, "batch_size": 256}
MODEL_TRAINING = {"mft": {"clips_per_class": 2}}


def training_defaults(model: str, dataset: str) -> dict[str, Any]:
    out = dict(BENCHMARK_TRAINING) if dataset in KNOWN_DATASETS else {}
    out.update(MODEL_TRAINING.get(model, {}))
    return out


def parse_value(raw: str, annotation) -> Any:
    """``raw`` converted to a resolved field type (``typing.get_type_hints``): bool, int, float, str, or
    a tuple of one element type (comma-separated)."""
    if annotation is bool:
        if raw.lower() in ("1", "true", "yes", "on"):
            return True
        if raw.lower() in ("0", "false", "no", "off"):
            return False
        raise ValueError(f"{raw!r} is not a boolean (true/false)")
    if annotation in (int, float):
        return annotation(raw)
    if typing.get_origin(annotation) is tuple:
        element = typing.get_args(annotation)[0]
        return tuple(element(x) for x in raw.split(",") if x.strip())
    return raw


def split_overrides(pairs: list[str], model_config_cls) -> tuple[dict, dict]:
    """``["lr=1e-3", "rank=4"]`` -> (train overrides, model overrides), typed by the field they name."""
    train_fields = {f.name: f for f in dataclasses.fields(TrainConfig)}
    model_fields = {f.name: f for f in dataclasses.fields(model_config_cls)}
    hints_t = typing.get_type_hints(TrainConfig)
    hints_m = typing.get_type_hints(model_config_cls)
    train, model = {}, {}
    for pair in pairs:
        if "=" not in pair:
            raise ValueError(f"--set {pair!r}: expected key=value")
        key, raw = (s.strip() for s in pair.split("=", 1))
        key = key.removeprefix("model.").removeprefix("train.")
        try:
            if key in train_fields:
                train[key] = parse_value(raw, hints_t[key])
            elif key in model_fields:
                model[key] = parse_value(raw, hints_m[key])
            else:
                raise ValueError(f"--set {key}: no such setting; training: {', '.join(sorted(train_fields))}; "
                                 f"model: {', '.join(sorted(model_fields))}")
        except ValueError as exc:
            if "no such setting" in str(exc):
                raise
            raise ValueError(f"--set {key}={raw}: {exc}") from None
    return train, model
