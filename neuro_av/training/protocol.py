"""The two-stage AV-GZSL protocol (AVCA / TCaF), independent of any model.

Stage 1: train on ``train`` for ``epochs`` epochs, evaluating on ``val`` after each; keep the epoch with
the best val HM and its β*. Stage 2: retrain from scratch on ``train_val`` for ``best_epoch + 1``
epochs (evaluating on ``val`` after each when ``stage2_scored``, so that a learning-rate scheduler
can follow val HM as the public AVCA code's does) and evaluate on ``test`` at the fixed β*.

The engine supplies two callables:

- ``fit(set_name, n_epochs, on_epoch_end) -> (model, results)``: trains a fresh model (or resumes
  one), calling ``on_epoch_end(epoch, model)`` after every epoch (epochs count from 0) and
  returning what those calls returned, for all epochs — also epochs finished before a resume;
- ``score(model, set_name, beta) -> GZSLResult``: evaluates (``beta=None`` sweeps β).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from neuro_av.errors import ConfigError
from neuro_av.gzsl import GZSLResult


@dataclass
class ProtocolResult:
    best_epoch: int
    beta: float
    val: GZSLResult  # at the best epoch
    test: GZSLResult  # stage 2, at beta
    val_history: list[GZSLResult] = field(default_factory=list)
    model: Any = None  # the stage-2 model


def run_two_stage(fit: Callable, score: Callable, epochs: int, stage2_scored: bool = False) -> ProtocolResult:
    if epochs < 1:
        raise ConfigError(f"epochs must be at least 1, got {epochs}")
    _, history = fit("train", epochs, lambda epoch, model: score(model, "val", None))
    if len(history) != epochs:
        raise RuntimeError(f"fit returned {len(history)} epoch results for {epochs} epochs")
    best_epoch = max(range(epochs), key=lambda e: (history[e].HM, -e))  # first best on ties
    beta = history[best_epoch].beta
    model, _ = fit("train_val", best_epoch + 1, (lambda epoch, m: score(m, "val", None)) if stage2_scored else None)
    test = score(model, "test", beta)
    return ProtocolResult(best_epoch, beta, history[best_epoch], test, history, model)
