"""DAB (discrepancy analysis block, MDFT eq. 6): audio "motion" features from visual events.

    E_a = a_t + (1 − exp(−‖(E_v − a_t) / β_a‖²))

As printed, ‖·‖² is the squared L2 norm over the feature axis: one scalar per (clip, step), added
to every feature of ``a_t`` (``reduce="norm"``, the default). ``reduce="elementwise"`` squares each
entry instead, giving a per-feature discrepancy (a reading of "discrepancy matrix"; ablatable).
"""
from __future__ import annotations

import torch

from neuro_av.errors import ConfigError


def dab(audio: torch.Tensor, visual_events: torch.Tensor, beta: torch.Tensor | float,
        reduce: str = "norm") -> torch.Tensor:
    """``audio`` and ``visual_events`` [..., D] -> [..., D]."""
    scaled = (visual_events - audio) / beta
    if reduce == "norm":
        sq = scaled.pow(2).sum(dim=-1, keepdim=True)
    elif reduce == "elementwise":
        sq = scaled.pow(2)
    else:
        raise ConfigError(f"DAB reduce {reduce!r} is not 'norm' or 'elementwise'")
    return audio + (1 - torch.exp(-sq))
