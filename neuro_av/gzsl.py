"""GZSL evaluation exactly as AVCA / TCaF compute it.

For clips with targets ``y`` and a distance matrix ``D`` [N, C] to the projected text embeddings of
every class (only the columns of the set's seen ∪ unseen classes are used):

- calibrated stacking: for β in {0, 0.2, …, 3.0}, add β to every column that is not an unseen class,
  predict ``argmin``; per-class recall over the set's classes; S = mean over seen classes, U = mean
  over unseen classes, HM = 2SU / (S + U + ε); keep the β with the highest HM (the first on ties);
- ZSL: ``argmin`` over the unseen columns only (no β), mean per-class recall over unseen classes.

Given a fixed β (the test stage), only that β is used — also β = 0, which the public code, testing
``if best_beta:``, silently replaced by a new sweep.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

BETAS = tuple(round(0.2 * k, 1) for k in range(16))  # 0, 0.2, ..., 3.0
_EPS = float(np.finfo(float).eps)


@dataclass(frozen=True)
class GZSLResult:
    """Fractions in [0, 1]; ``as_percent`` gives the published convention."""

    S: float
    U: float
    HM: float
    ZSL: float
    beta: float

    def as_percent(self) -> dict:
        d = asdict(self)
        return {k: (100.0 * v if k != "beta" else v) for k, v in d.items()}


def _mean_recall(pred: np.ndarray, targets: np.ndarray, classes) -> float:
    if len(classes) == 0:
        return 0.0
    recalls = []
    for c in classes:
        hit = targets == c
        if hit.any():  # classes without clips have no recall (AVCA would average a NaN)
            recalls.append(float((pred[hit] == c).mean()))
    return float(np.mean(recalls)) if recalls else 0.0


def gzsl_evaluate(distances, targets, seen, unseen, beta: float | None = None) -> GZSLResult:
    """S / U / HM / ZSL of ``distances`` [N, C] (numpy or torch) at ``beta`` or at the best β of BETAS."""
    d_all = np.asarray(distances.detach().cpu() if hasattr(distances, "detach") else distances, dtype=np.float64)
    y = np.asarray(targets.cpu() if hasattr(targets, "cpu") else targets).astype(np.int64)
    seen, unseen = sorted(set(int(c) for c in seen)), sorted(set(int(c) for c in unseen))
    if set(seen) & set(unseen):
        raise ValueError(f"classes both seen and unseen: {sorted(set(seen) & set(unseen))}")
    if d_all.ndim != 2 or d_all.shape[0] != y.shape[0]:
        raise ValueError(f"distances must be [N, C] with N = {y.shape[0]} targets, got {d_all.shape}")
    d = np.full_like(d_all, np.inf)
    cols = seen + unseen
    d[:, cols] = d_all[:, cols]
    stack = np.ones(d.shape[1])
    stack[unseen] = 0.0  # β is added to every column but the unseen ones

    zsl = 0.0
    if unseen:
        pred_zsl = np.asarray(unseen)[np.argmin(d[:, unseen], axis=1)]
        zsl = _mean_recall(pred_zsl, y, unseen)
    best = None
    for b in (BETAS if beta is None else (float(beta),)):
        pred = np.argmin(d + b * stack, axis=1)
        s, u = _mean_recall(pred, y, seen), _mean_recall(pred, y, unseen)
        hm = 2 * s * u / (s + u + _EPS)
        if best is None or hm > best.HM:
            best = GZSLResult(S=s, U=u, HM=hm, ZSL=zsl, beta=float(b))
    return best
