"""Fidelity in spikes: how far one backend's spikes are from another's, per layer, in measures a silent
or sparse layer cannot flatter.

Per layer, over valid (clip, step) bins, for spikes ``a`` (the backend) and ``b`` (what it is compared
with):

- ``dice``: 2·|a ∧ b| / (|a| + |b|) — 1.0 when both fire the same spikes; 1.0 by convention when
  neither fires (then ``silent`` says so and the figure means nothing);
- ``dice_1step``: the same with a spike of ``a`` counted as shared when ``b`` has one in the same
  neuron within ±1 step (and vice versa), so timing jitter of one step is forgiven;
- ``count_ratio``: |a| / |b|;
- ``first_divergence``: the first (clip, step, neuron) where they differ, or None;
- ``rate`` / ``rate_ref``: firing rates (spikes per neuron-step);
- ``bins_equal``: the old figure, the share of equal bins, kept as a secondary number.

A layer that never fires, or fires on every valid step of every neuron, is ``silent`` / ``saturated``
and :func:`activity_warnings` names it.
"""
from __future__ import annotations

import numpy as np


def _valid(x: np.ndarray, mask: np.ndarray) -> np.ndarray:
    return np.asarray(x, bool) & np.asarray(mask, bool)[:, :, None]


def _near(x: np.ndarray) -> np.ndarray:
    """x dilated by one step either way along time."""
    out = x.copy()
    out[:, 1:] |= x[:, :-1]
    out[:, :-1] |= x[:, 1:]
    return out


def layer_counts(a: np.ndarray, b: np.ndarray, mask: np.ndarray, clip_ids: np.ndarray | None = None) -> dict:
    """Raw counts of one layer (they add up over shards of a split): spikes of each, shared, near
    (within ±1 step), differing bins, bins, and the first divergence (its clip named by ``clip_ids``,
    the clips' numbers in the split, when given; else by its position)."""
    a, b = _valid(a, mask), _valid(b, mask)
    diff = np.argwhere(a != b)
    first = None
    if len(diff):
        first = dict(zip(("clip", "step", "neuron"), map(int, diff[0])))
        if clip_ids is not None:
            first["clip"] = int(clip_ids[first["clip"]])
    return {"spikes": int(a.sum()), "spikes_ref": int(b.sum()), "shared": int((a & b).sum()),
            "near": int((a & _near(b)).sum()) + int((b & _near(a)).sum()), "differ": int((a != b).sum()),
            "bins": int(np.asarray(mask, bool).sum()) * a.shape[-1], "first_divergence": first}


def merge_counts(parts: list[dict]) -> dict:
    """Per-layer counts of several shards (in clip order) as one."""
    out = {}
    for layer in parts[0]:
        rows = [p[layer] for p in parts]
        merged = {k: sum(r[k] for r in rows) for k in ("spikes", "spikes_ref", "shared", "near", "differ", "bins")}
        merged["first_divergence"] = next((r["first_divergence"] for r in rows if r["first_divergence"]), None)
        out[layer] = merged
    return out


def from_counts(c: dict) -> dict:
    na, nb, bins = c["spikes"], c["spikes_ref"], c["bins"]
    return {
        "dice": 2 * c["shared"] / (na + nb) if na + nb else 1.0,
        "dice_1step": c["near"] / (na + nb) if na + nb else 1.0,
        "count_ratio": na / nb if nb else (1.0 if na == 0 else float("inf")),
        "spikes": na, "spikes_ref": nb,
        "rate": na / max(bins, 1), "rate_ref": nb / max(bins, 1),
        "bins_equal": 1.0 - c["differ"] / max(bins, 1),
        "first_divergence": c["first_divergence"],
        "silent": na == 0 and nb == 0,
        "saturated": bins > 0 and (na == bins or nb == bins),
    }


def layer_fidelity(a: np.ndarray, b: np.ndarray, mask: np.ndarray) -> dict:
    return from_counts(layer_counts(a, b, mask))


def summarise(layers: dict[str, dict]) -> dict:
    """Per-layer figures (from :func:`from_counts`) and their spike-weighted Dice over all layers."""
    total = sum(v["spikes"] + v["spikes_ref"] for v in layers.values())
    overall = (sum(v["dice"] * (v["spikes"] + v["spikes_ref"]) for v in layers.values()) / total) if total else 1.0
    return {"dice": overall, "layers": layers}


def fidelity(got: dict[str, np.ndarray], ref: dict[str, np.ndarray], mask: np.ndarray) -> dict:
    """Per layer (the layers of ``ref``) and over all layers (spike-weighted Dice)."""
    return summarise({k: layer_fidelity(got[k], ref[k], mask) for k in ref})


def activity_warnings(spikes: dict[str, np.ndarray], mask: np.ndarray, where: str) -> list[str]:
    """A line for every layer that never fires or fires on every valid step of every neuron."""
    out = []
    valid = np.asarray(mask, bool)
    for k, s in spikes.items():
        active = np.asarray(s, bool)[valid]
        if active.size and not active.any():
            out.append(f"{k} never fired on the {where} ({int(valid.shape[0])} clips): any agreement figure for it "
                       "means nothing")
        elif active.size and active.all():
            out.append(f"{k} fired on every step of every neuron on the {where}: it carries no information")
    return out


# float reference → rounded parameters, float state → integer state in torch → integer state in Lava
LADDER = ("quant-float", "torch-fixed", "lava-fixed")


def previous_rung(name: str, present, reference: str) -> str | None:
    """The ladder rung ``name`` is compared with besides the reference: the nearest earlier rung that
    ran (None when that is the reference itself, or ``name`` is not on the ladder)."""
    if name not in LADDER:
        return None
    earlier = [n for n in LADDER[:LADDER.index(name)] if n in present]
    return earlier[-1] if earlier else None

