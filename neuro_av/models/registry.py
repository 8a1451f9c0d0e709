"""Named model builders and ablation tables: ``build_model(name, dataset, overrides)`` -> (model, config).

Per-dataset defaults follow MODELS.md (dropouts d_enc / d_dec / d_wproj for VGGSound / UCF /
ActivityNet); datasets of other names (the embedded benchmark) get UCF's, whose structure they copy.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Callable

from neuro_av.models import mdft, mft, stft
from neuro_av.models.avca import AVCA, AVCAConfig
from neuro_av.models.base import ZSLModel
from neuro_av.models.mdft import MDFT, MDFTConfig
from neuro_av.models.mft import MFT, MFTConfig
from neuro_av.models.stft import STFT, STFTConfig

DATASET_DROPOUTS = {  # (encoder, decoder/projection, word projection)
    "VGGSound": (0.20, 0.25, 0.10),
    "UCF": (0.25, 0.20, 0.10),
    "ActivityNet": (0.10, 0.15, 0.10),
}

MODELS: dict[str, tuple[type, Callable[..., ZSLModel]]] = {
    "avca": (AVCAConfig, AVCA),
    "mft": (MFTConfig, MFT),
    "stft": (STFTConfig, STFT),
    "mdft": (MDFTConfig, MDFT),
}
ABLATIONS: dict[str, dict[str, dict[str, Any]]] = {"avca": {"none": {}}, "mft": mft.ABLATIONS,
                                                   "stft": stft.ABLATIONS, "mdft": mdft.ABLATIONS}


def ablation_overrides(model: str, name: str) -> dict[str, Any]:
    table = ABLATIONS.get(model, {"none": {}})
    if name not in table:
        raise ValueError(f"unknown ablation {name!r} of {model}; known: {', '.join(table)}")
    return dict(table[name])


def register(name: str, config_cls: type, model_cls: Callable[..., ZSLModel]) -> None:
    MODELS[name] = (config_cls, model_cls)


def dataset_defaults(dataset: str) -> dict[str, Any]:
    enc, dec, wproj = DATASET_DROPOUTS.get(dataset, DATASET_DROPOUTS["UCF"])
    return {"dropout_encoder": enc, "dropout_decoder": dec, "dropout_additional": wproj}


def make_config(name: str, dataset: str, overrides: dict[str, Any] | None = None):
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; known: {', '.join(sorted(MODELS))}")
    config_cls = MODELS[name][0]
    fields = {f.name for f in dataclasses.fields(config_cls)}
    values = {k: v for k, v in dataset_defaults(dataset).items() if k in fields}
    for key, value in (overrides or {}).items():
        if key not in fields:
            raise ValueError(f"{name} has no setting {key!r}; settings: {', '.join(sorted(fields))}")
        values[key] = value
    return config_cls(**values)


def build_model(name: str, config) -> ZSLModel:
    return MODELS[name][1](config)
