"""A trained run as a hybrid: ``pre`` on the host, the spiking branch on a backend, ``post`` on the host.

Shared by ``neuro-av export`` and ``neuro-av sim``: loading a run folder, batching clips through
``pre``, the Norse reference of the branch (float64), and the names that tie the branch to its NIR
graph (``<chain>.input``, ``<chain>.lif<i>``, threshold streams ``<chain>.lif<i>.threshold``).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from neuro_av.errors import NeuroAVError
from neuro_av.models.partition import SnnInput, SnnOutput


class HybridError(NeuroAVError, ValueError):
    """A run folder that cannot be deployed; the message says why and what to do."""


@dataclass
class HybridRun:
    run_dir: Path
    checkpoint: dict
    model: torch.nn.Module  # eval mode, float32, CPU
    data: object  # AVGZSLData

    @property
    def name(self) -> str:
        return self.checkpoint["model_name"]

    @property
    def dynamic_threshold(self) -> bool:
        return bool(getattr(self.model.cfg, "dynamic_threshold", False))


def load_run(run_dir: Path) -> HybridRun:
    from neuro_av.data.dataset import AVGZSLData, DataConfig
    from neuro_av.training.checkpoint import load_checkpoint
    from neuro_av.training.engine import CHECKPOINT, rebuild_model

    run_dir = Path(run_dir)
    path = run_dir / CHECKPOINT
    if not path.is_file():
        raise HybridError(f"{run_dir} has no {CHECKPOINT}: pass a finished `neuro-av train` run folder")
    ckpt = load_checkpoint(path)
    model, _ = rebuild_model(ckpt)
    if not hasattr(model, "partition") or getattr(model, "snn", None) is None:
        raise HybridError(f"{run_dir}: model {ckpt['model_name']!r} has no spiking branch to deploy "
                          "(train stft or mdft, without the mlp_snn ablation)")
    return HybridRun(run_dir, ckpt, model.eval(), AVGZSLData(DataConfig(**ckpt["data_config"])))


def clip_range(clips, start: int, stop: int):
    from neuro_av.training.engine import clip_batch

    return clip_batch(clips, np.arange(start, stop), torch.device("cpu"))


def streams(snn_in: SnnInput) -> tuple[dict, dict, np.ndarray]:
    """(currents, thresholds, mask) of a batch as float64 NumPy arrays keyed by NIR names."""
    currents = {f"{c}.input": snn_in.current[c].detach().double().numpy() for c in snn_in.current}
    thresholds = {f"{c}.lif{i}.threshold": torch.as_tensor(th).detach().double().numpy()
                  for c, ths in snn_in.thresholds.items() for i, th in enumerate(ths)}
    return currents, thresholds, snn_in.mask.detach().numpy().astype(bool)


def layer_names(branch) -> list[str]:
    return [f"{c}.lif{i}" for c, layers in branch.chains.items() for i in range(len(layers))]


def norse_spikes(branch, snn_in: SnnInput) -> dict[str, np.ndarray]:
    """The Norse branch in float64 (the reference every backend is compared with)."""
    import copy

    ref = copy.deepcopy(branch).cpu().double()
    x = SnnInput({c: v.double() for c, v in snn_in.current.items()},
                 {c: [torch.as_tensor(t).double() for t in ths] for c, ths in snn_in.thresholds.items()}, snn_in.mask)
    with torch.no_grad():
        out = ref(x)
    return {f"{c}.lif{i}": s.numpy().astype(np.uint8) for c, layers in out.spikes.items() for i, s in enumerate(layers)}


def as_snn_output(branch, spikes: dict[str, np.ndarray]) -> SnnOutput:
    return SnnOutput({c: [torch.from_numpy(np.ascontiguousarray(spikes[f"{c}.lif{i}"])).float()
                          for i in range(len(layers))] for c, layers in branch.chains.items()})


def agreement_counts(a: dict[str, np.ndarray], b: dict[str, np.ndarray], mask: np.ndarray) -> tuple[int, int]:
    """(bins that agree, bins) over valid (clip, step, neuron) bins of every layer (sums merge exactly)."""
    same = total = 0
    for k in a:
        valid = np.broadcast_to(mask[:, :, None], a[k].shape)
        same += int((a[k] == b[k])[valid].sum())
        total += int(valid.sum())
    return same, total


def spike_agreement(a: dict[str, np.ndarray], b: dict[str, np.ndarray], mask: np.ndarray) -> float:
    """Fraction of valid (clip, step, neuron) bins where both spike trains agree, over all layers."""
    same, total = agreement_counts(a, b, mask)
    return same / max(total, 1)
