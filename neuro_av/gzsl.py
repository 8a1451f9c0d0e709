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


def _stacking(d_all: np.ndarray, seen: list[int], unseen: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """(distances with every column outside seen ∪ unseen at +inf, the calibrated-stacking mask: β is
    added to every column but the unseen ones)."""
    d = np.full_like(d_all, np.inf)
    cols = seen + unseen
    d[:, cols] = d_all[:, cols]
    stack = np.ones(d.shape[1])
    stack[unseen] = 0.0
    return d, stack


def gzsl_evaluate(distances, targets, seen, unseen, beta: float | None = None) -> GZSLResult:
    """S / U / HM / ZSL of ``distances`` [N, C] (numpy or torch) at ``beta`` or at the best β of BETAS."""
    d_all = np.asarray(distances.detach().cpu() if hasattr(distances, "detach") else distances, dtype=np.float64)
    y = np.asarray(targets.cpu() if hasattr(targets, "cpu") else targets).astype(np.int64)
    seen, unseen = sorted(set(int(c) for c in seen)), sorted(set(int(c) for c in unseen))
    if set(seen) & set(unseen):
        raise ValueError(f"classes both seen and unseen: {sorted(set(seen) & set(unseen))}")
    if d_all.ndim != 2 or d_all.shape[0] != y.shape[0]:
        raise ValueError(f"distances must be [N, C] with N = {y.shape[0]} targets, got {d_all.shape}")
    d, stack = _stacking(d_all, seen, unseen)
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


def gzsl_predictions(distances, seen, unseen, beta: float) -> tuple[np.ndarray, np.ndarray]:
    """(class per clip after calibrated stacking at ``beta``, class per clip among the unseen only),
    exactly as :func:`gzsl_evaluate` decides them."""
    seen, unseen = sorted(set(map(int, seen))), sorted(set(map(int, unseen)))
    d, stack = _stacking(np.asarray(distances, np.float64), seen, unseen)
    pred = np.argmin(d + float(beta) * stack, axis=1)
    pred_zsl = np.asarray(unseen)[np.argmin(d[:, unseen], axis=1)] if unseen else np.full(len(d), -1)
    return pred, pred_zsl


BOOTSTRAP_RESAMPLES = 1000
BOOTSTRAP_LEVEL = 0.95


def _recall_matrix(weights: np.ndarray, targets: np.ndarray, correct: np.ndarray, classes) -> np.ndarray:
    """(resamples,) mean per-class recall over ``classes`` for clip multiplicities ``weights``
    (resamples, N); a class without clips in a resample is left out, as :func:`_mean_recall` does."""
    classes = np.asarray(sorted(classes), np.int64)
    if not len(classes):
        return np.zeros(len(weights))
    onehot = (targets[:, None] == classes[None, :]).astype(np.float64)  # (N, C)
    totals = weights @ onehot
    hits = weights @ (onehot * correct[:, None])
    present = totals > 0
    recall = np.where(present, hits / np.maximum(totals, 1), 0.0)
    return recall.sum(axis=1) / np.maximum(present.sum(axis=1), 1)


def resampled_scores(weights: np.ndarray, targets, pred, pred_zsl, seen, unseen) -> dict[str, np.ndarray]:
    """S / U / HM / ZSL (percent, one per row of ``weights``) of fixed predictions when clip i counts
    ``weights[r, i]`` times: what :func:`gzsl_evaluate` at a fixed β gives on that resample."""
    y = np.asarray(targets).astype(np.int64)
    correct = np.asarray(pred) == y
    s, u = (_recall_matrix(weights, y, correct, c) * 100 for c in (seen, unseen))
    z = _recall_matrix(weights, y, np.asarray(pred_zsl) == y, unseen) * 100
    return {"S": s, "U": u, "HM": 2 * s * u / (s + u + 100 * _EPS), "ZSL": z}


def bootstrap_gzsl(predictions: dict[str, tuple[np.ndarray, np.ndarray]], targets, seen, unseen,
                   resamples: int = BOOTSTRAP_RESAMPLES, level: float = BOOTSTRAP_LEVEL, seed: int = 0,
                   reference: str | None = None) -> dict:
    """Percentile bootstrap over clips of S / U / HM / ZSL (percent) at fixed predictions.

    ``predictions``: name -> (GZSL class per clip at the run's β, ZSL class per clip); every name is
    scored on the same resamples, so ``delta`` (name − ``reference``) is a paired interval. β stays
    fixed (the test stage's), so the spread is that of the test clips alone, not of training.
    Returns ``{"resamples", "level", "seed", "intervals": {name: {metric: [lo, hi]}},
    "delta": {name: {metric: [lo, hi]}}}``."""
    y = np.asarray(targets).astype(np.int64)
    rng = np.random.default_rng(seed)
    weights = rng.multinomial(len(y), np.full(len(y), 1.0 / len(y)), size=resamples).astype(np.float64) \
        if len(y) else np.zeros((resamples, 0))
    samples = {name: resampled_scores(weights, y, pred, pred_zsl, seen, unseen)
               for name, (pred, pred_zsl) in predictions.items()}
    tail = (1 - level) / 2 * 100

    def interval(x: np.ndarray) -> list[float]:
        return [float(np.percentile(x, tail)), float(np.percentile(x, 100 - tail))]

    out = {"resamples": resamples, "level": level, "seed": seed, "method": "percentile bootstrap over clips",
           "intervals": {n: {k: interval(v) for k, v in m.items()} for n, m in samples.items()}, "delta": {}}
    if reference in samples:
        out["delta"] = {n: {k: interval(v - samples[reference][k]) for k, v in m.items()}
                        for n, m in samples.items() if n != reference}
    return out
