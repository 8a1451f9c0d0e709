"""What every neuro-av model offers the training engine and the evaluator."""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import torch
from torch import nn

from neuro_av.errors import ConfigError


@dataclass(frozen=True)
class ZSLConfig:
    """Settings every model shares: input / text / joint-space widths, head widths, dropouts, margin.

    Dropouts follow the per-dataset defaults of ``registry.dataset_defaults``: encoder, decoder /
    projection, and the additional (word projection) rate.
    """

    audio_dim: int = 512
    video_dim: int = 512
    text_dim: int = 300
    dim_out: int = 64
    decoder_hidden: int = 512
    dropout_encoder: float = 0.25
    dropout_decoder: float = 0.2
    dropout_additional: float = 0.1
    bn_momentum: float = 0.1
    margin: float = 1.0

    def __post_init__(self):
        for name in ("dropout_encoder", "dropout_decoder", "dropout_additional"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ConfigError(f"{name} must be in [0, 1), got {getattr(self, name)}")


class ClipBatch(NamedTuple):
    audio: torch.Tensor  # (B, T, D_a)
    video: torch.Tensor  # (B, T, D_v)
    mask: torch.Tensor  # (B, T) bool, True on real steps


class TrainBatch(NamedTuple):
    pos: ClipBatch
    neg: ClipBatch  # one clip of another class per positive
    text: torch.Tensor  # (B, D_w) text embedding of each positive's class
    neg_text: torch.Tensor  # (B, D_w) of each negative's class
    target: torch.Tensor  # (B,) index of the positive's class in class_text
    class_text: torch.Tensor  # (C_train, D_w) text embeddings of the training classes


class ZSLModel(nn.Module):
    """``forward(TrainBatch) -> (loss, parts)``; embeddings and distances for evaluation.

    A prediction is the class whose projected text embedding is nearest: by default the distance of
    a clip to a class is the sum over the model's clip embeddings of their L2 distances to the class
    embedding (the public AVCA code's "both" mode); a model may score otherwise
    (:meth:`embedding_distances`), as AVCA does.
    """

    def clip_embeddings(self, clips: ClipBatch) -> list[torch.Tensor]:
        raise NotImplementedError

    def class_embeddings(self, text: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def embedding_distances(self, embeddings: list[torch.Tensor], classes: torch.Tensor) -> torch.Tensor:
        """(B, C) distances of clip embeddings to class embeddings (C, D): the model's scoring rule."""
        return sum(torch.cdist(e, classes) for e in embeddings)

    def distances(self, clips: ClipBatch, text: torch.Tensor) -> torch.Tensor:
        """(B, C) distances of clips to the classes whose text embeddings are ``text`` (C, D_w)."""
        return self.embedding_distances(self.clip_embeddings(clips), self.class_embeddings(text))
