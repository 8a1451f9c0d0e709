"""Named model builders and ablation tables: ``make_config(name, dataset, overrides)`` and
``build_model(name, config)``.

Per-dataset defaults: MDFT's paper gives dropouts d_enc / d_dec / d_wproj per dataset (VGGSound
0.20 / 0.25 / 0.10, UCF 0.25 / 0.20 / 0.10, ActivityNet 0.10 / 0.15 / 0.10), used for the spiking
models and MFT; AVCA takes the values of the public AVCA training scripts
(``run_scripts/<DS>-GZSL/avca.sh``: embedding / decoder / additional dropout and BatchNorm momentum,
per feature kind). Datasets of other names (the embedded benchmark) get UCF's, whose structure they copy.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Callable

from neuro_av.errors import ConfigError
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
# The public avca.sh scripts: (embedding, decoder, additional dropout, BatchNorm momentum) per features.
AVCA_SCRIPTS = {
    ("UCF", "main"): (0.2, 0.3, 0.5, 0.1), ("UCF", "cls"): (0.2, 0.3, 0.5, 0.99),
    ("VGGSound", "main"): (0.0, 0.0, 0.1, 0.1), ("VGGSound", "cls"): (0.0, 0.0, 0.0, 0.99),
    ("ActivityNet", "main"): (0.2, 0.2, 0.1, 0.99), ("ActivityNet", "cls"): (0.2, 0.2, 0.1, 0.99),
}

MODELS: dict[str, tuple[type, Callable[..., ZSLModel]]] = {
    "avca": (AVCAConfig, AVCA),
    "mft": (MFTConfig, MFT),
    "stft": (STFTConfig, STFT),
    "mdft": (MDFTConfig, MDFT),
}
# avca "sum_scoring": audio + visual distances instead of the public code's visual-only test scoring
ABLATIONS: dict[str, dict[str, dict[str, Any]]] = {"avca": {"none": {}, "sum_scoring": {"scoring": "sum"}},
                                                   "mft": mft.ABLATIONS,
                                                   "stft": stft.ABLATIONS, "mdft": mdft.ABLATIONS}


def ablation_overrides(model: str, name: str) -> dict[str, Any]:
    table = ABLATIONS.get(model, {"none": {}})
    if name not in table:
        raise ConfigError(f"unknown ablation {name!r} of {model}; known: {', '.join(table)}")
    return dict(table[name])


def register(name: str, config_cls: type, model_cls: Callable[..., ZSLModel]) -> None:
    MODELS[name] = (config_cls, model_cls)


def dataset_defaults(dataset: str, model: str = "", features: str = "main") -> dict[str, Any]:
    if model == "avca":
        enc, dec, extra, momentum = AVCA_SCRIPTS.get((dataset, features), AVCA_SCRIPTS[("UCF", features)])
        return {"dropout_encoder": enc, "dropout_decoder": dec, "dropout_additional": extra, "bn_momentum": momentum}
    enc, dec, wproj = DATASET_DROPOUTS.get(dataset, DATASET_DROPOUTS["UCF"])
    return {"dropout_encoder": enc, "dropout_decoder": dec, "dropout_additional": wproj}


def make_config(name: str, dataset: str, overrides: dict[str, Any] | None = None, features: str = "main"):
    if name not in MODELS:
        raise ConfigError(f"unknown model {name!r}; known: {', '.join(sorted(MODELS))}")
    config_cls = MODELS[name][0]
    fields = {f.name for f in dataclasses.fields(config_cls)}
    values = {k: v for k, v in dataset_defaults(dataset, name, features).items() if k in fields}
    for key, value in (overrides or {}).items():
        if key not in fields:
            raise ConfigError(f"{name} has no setting {key!r}; settings: {', '.join(sorted(fields))}")
        values[key] = value
    return config_cls(**values)


def build_model(name: str, config) -> ZSLModel:
    return MODELS[name][1](config)
