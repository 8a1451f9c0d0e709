"""Spike agreement between two backends: the fraction of valid (clip, step, neuron) bins that agree.

Kept as raw counts so shards of a split merge exactly; every comparison in neuro-av (export
fidelity, co-simulation, foreign graphs) goes through here.
"""
from __future__ import annotations

import numpy as np


def agreement_counts(a: dict[str, np.ndarray], b: dict[str, np.ndarray], mask: np.ndarray) -> tuple[int, int]:
    """(bins that agree, bins) over valid (clip, step, neuron) bins of every layer of ``a``."""
    same = total = 0
    for k in a:
        valid = np.broadcast_to(np.asarray(mask, bool)[:, :, None], a[k].shape)
        same += int((a[k] == b[k])[valid].sum())
        total += int(valid.sum())
    return same, total


def spike_agreement(a: dict[str, np.ndarray], b: dict[str, np.ndarray], mask: np.ndarray) -> float:
    same, total = agreement_counts(a, b, mask)
    return same / max(total, 1)


def per_layer_agreement(a: dict[str, np.ndarray], b: dict[str, np.ndarray], mask: np.ndarray) -> dict[str, float]:
    return {k: spike_agreement({k: a[k]}, {k: b[k]}, mask) for k in a}


def readout_errors(got: dict[str, np.ndarray], ref: dict[str, np.ndarray]) -> dict[str, dict]:
    """Per read-out population: the largest absolute voltage difference and the share of (clip, step)
    where the arg-max neuron agrees (what a classifier reading the voltages would decide)."""
    return {k: {"max_abs_diff": float(np.abs(got[k] - ref[k]).max()),
                "argmax_agreement": float((got[k].argmax(-1) == ref[k].argmax(-1)).mean())} for k in ref}
