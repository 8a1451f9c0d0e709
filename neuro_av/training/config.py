"""Training settings, per-dataset defaults and ``--set key=value`` parsing."""
from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass
from typing import Any

from neuro_av.data.splits import KNOWN_DATASETS
from neuro_av.errors import ConfigError

STAGE2_LR = ("plateau", "replay")


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 12  # stage-1 epochs; stage 2 trains best_epoch + 1
    batches_per_epoch: int = 12
    batch_size: int = 128
    clips_per_class: int = 1  # clips of one class per batch (MFT's L_cos needs >= 2)
    lr: float = 1e-3
    weight_decay: float = 1e-5
    plateau_patience: int = 3  # ReduceLROnPlateau on val HM
    plateau_factor: float = 0.1
    # stage 2: "plateau" runs its own scheduler on val HM, as the public AVCA code does (val classes
    # are training classes by then); "replay" applies stage 1's learning rates epoch by epoch
    stage2_lr: str = "plateau"
    seed: int = 0
    eval_batch_size: int = 512
    device: str = "auto"  # "auto" (cuda when present), "cpu", "cuda", "cuda:1"

    def __post_init__(self):
        for name in ("epochs", "batches_per_epoch", "batch_size", "clips_per_class", "eval_batch_size"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.lr <= 0:
            raise ConfigError(f"lr must be positive, got {self.lr}")
        if self.stage2_lr not in STAGE2_LR:
            raise ConfigError(f"stage2_lr {self.stage2_lr!r} is not one of {', '.join(STAGE2_LR)}")


# AVCA's protocol on the real benchmarks: 50 epochs × 500 batches of 256 (its avca.sh scripts).
BENCHMARK_TRAINING = {"epochs": 50, "batches_per_epoch": 500, "batch_size": 256}
# MDFT's seed trains with Adam and names no weight decay (MODELS.md, MDFT item 10); AVCA's 1e-5 silenced
# MDFT's first visual layer (its surrogate gradient is smaller than the decay term; README, Limitations).
# `--set weight_decay=1e-5` restores it for an ablation.
MODEL_TRAINING = {"mft": {"clips_per_class": 2}, "mdft": {"weight_decay": 0.0}}
# avca.sh for VGGSound main features trains with --bs 64
SCRIPT_TRAINING = {("avca", "VGGSound", "main"): {"batch_size": 64}}


def training_defaults(model: str, dataset: str, features: str = "main") -> dict[str, Any]:
    out = dict(BENCHMARK_TRAINING) if dataset in KNOWN_DATASETS else {}
    out.update(MODEL_TRAINING.get(model, {}))
    out.update(SCRIPT_TRAINING.get((model, dataset, features), {}))
    return out


def parse_value(raw: str, annotation) -> Any:
    """``raw`` converted to a resolved field type (``typing.get_type_hints``): bool, int, float, str, or
    a tuple of one element type (comma-separated)."""
    if annotation is bool:
        if raw.lower() in ("1", "true", "yes", "on"):
            return True
        if raw.lower() in ("0", "false", "no", "off"):
            return False
        raise ConfigError(f"{raw!r} is not a boolean (true/false)")
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
            raise ConfigError(f"--set {pair!r}: expected key=value")
        key, raw = (s.strip() for s in pair.split("=", 1))
        key = key.removeprefix("model.").removeprefix("train.")
        try:
            if key in train_fields:
                train[key] = parse_value(raw, hints_t[key])
            elif key in model_fields:
                model[key] = parse_value(raw, hints_m[key])
            else:
                raise ConfigError(f"--set {key}: no such setting; training: {', '.join(sorted(train_fields))}; "
                                 f"model: {', '.join(sorted(model_fields))}")
        except ValueError as exc:  # int('x'), float('x') and the ConfigErrors above
            if "no such setting" in str(exc):
                raise
            raise ConfigError(f"--set {key}={raw}: {exc}") from None
    return train, model


@dataclasses.dataclass(frozen=True)
class RunSpec:
    """What ``neuro-av train`` is asked for, before defaults are resolved."""

    model: str
    data: str
    dataset: str = "SynthAV"
    features: str = "main"
    layout: str = "auto"
    text_alignment: str = "by_name"
    epochs: int | None = None
    sets: tuple[str, ...] = ()
    ablation: str = "none"


def build_configs(spec: RunSpec):
    """(data config, model config, training config) of a run: per-dataset and per-model defaults, the
    ablation's overrides, then ``--set`` values and ``--epochs``."""
    from pathlib import Path

    from neuro_av.data.dataset import DataConfig
    from neuro_av.data.paths import path_problem
    from neuro_av.errors import DataError
    from neuro_av.models.registry import MODELS, ablation_overrides, make_config

    if spec.model not in MODELS:
        raise ConfigError(f"unknown model {spec.model!r}; known: {', '.join(sorted(MODELS))}")
    problem = path_problem(Path(spec.data), "folder")
    if problem and problem != "is missing":  # missing: DataConfig says so, with what to do
        raise DataError(f"data root {spec.data} {problem}: pass the folder that holds <dataset>/")
    # absolute, so `evaluate` / `export` / `sim` find the data from any working directory
    data_cfg = DataConfig(root=str(Path(spec.data).resolve()), dataset=spec.dataset, features=spec.features,
                          layout=spec.layout, text_alignment=spec.text_alignment)
    train_over, model_over = split_overrides(list(spec.sets), MODELS[spec.model][0])
    model_over = {**ablation_overrides(spec.model, spec.ablation), **model_over}
    train_values = {**training_defaults(spec.model, spec.dataset, spec.features), **train_over}
    if spec.epochs is not None:
        train_values["epochs"] = spec.epochs
    return (data_cfg, make_config(spec.model, spec.dataset, model_over, spec.features), TrainConfig(**train_values))
