"""What every neuro-av model offers the training engine and the evaluator."""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import torch
from torch import nn


@dataclass(frozen=True)
class ZSLConfig:
    """Settings every model shares: input / text / joint-space widths, head widths, dropouts, margin.

    Dropouts follow MODELS.md per dataset (``registry.dataset_defaults``): encoder, decoder /
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
                raise ValueError(f"{name} must be in [0, 1), got {getattr(self, name)}")


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

    A prediction is the class whose projected text embedding is nearest: the distance of a clip to
    a class is the sum over the model's clip embeddings (AVCA: audio and visual) of their L2
    distances to the class embedding, exactly as AVCA's "both" evaluation.
    """

    def clip_embeddings(self, clips: ClipBatch) -> list[torch.Tensor]:
        raise NotImplementedError

    def class_embeddings(self, text: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def distances(self, clips: ClipBatch, text: torch.Tensor) -> torch.Tensor:
        """(B, C) distances of clips to the classes whose text embeddings are ``text`` (C, D_w)."""
        w = self.class_embeddings(text)
        return sum(torch.cdist(e, w) for e in self.clip_embeddings(clips))
