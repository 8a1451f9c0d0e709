"""Class-balanced batches with one negative (a clip of another class) per positive (AVCA's sampler)."""
from __future__ import annotations

import numpy as np
import torch

from neuro_av.errors import DataError


class ClassBalancedSampler:
    """Each batch: ``ceil(B / k)`` classes drawn uniformly, ``k`` clips of each, then truncated to B.

    All randomness comes from ``generator``, whose state is checkpointed, so a resumed run draws
    the same batches as an uninterrupted one.
    """

    def __init__(self, targets: np.ndarray, batch_size: int, clips_per_class: int, generator: torch.Generator):
        self.targets = torch.as_tensor(np.asarray(targets), dtype=torch.long)
        self.classes = torch.unique(self.targets)
        if len(self.classes) < 2:
            raise DataError("a training set needs at least 2 classes (negatives come from another class)")
        self.by_class = [torch.nonzero(self.targets == c).flatten() for c in self.classes]
        self.batch_size, self.k, self.gen = batch_size, clips_per_class, generator

    def _randint(self, high, size):
        return torch.randint(0, high, (size,), generator=self.gen)

    def sample(self) -> tuple[torch.Tensor, torch.Tensor]:
        n_cls = -(-self.batch_size // self.k)
        if n_cls <= len(self.classes):
            chosen = torch.randperm(len(self.classes), generator=self.gen)[:n_cls]
        else:
            chosen = self._randint(len(self.classes), n_cls)
        pos = torch.cat([self.by_class[c][self._randint(len(self.by_class[c]), self.k)] for c in chosen.tolist()])
        pos = pos[: self.batch_size]
        neg = self._randint(len(self.targets), len(pos))
        clash = self.targets[neg] == self.targets[pos]
        while clash.any():
            neg[clash] = self._randint(len(self.targets), int(clash.sum()))
            clash = self.targets[neg] == self.targets[pos]
        return pos, neg
