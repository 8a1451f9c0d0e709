"""A trained run as a hybrid: ``pre`` on the host, the spiking branch on a backend, ``post`` on the host.

Shared by ``neuro-av export`` and ``neuro-av sim``: the run's partition (refused for models without a
spiking branch), its boundary streams as NumPy arrays under the names of :mod:`neuro_av.naming`, and
the Norse reference of the branch (float64), which every other backend is compared with.
"""
from __future__ import annotations

import copy

import numpy as np
import torch

from neuro_av import naming
from neuro_av.errors import RunError
from neuro_av.models.partition import Partition, SnnInput, SnnOutput
from neuro_av.run import Run


def partition(run: Run) -> Partition:
    """The run's (pre, snn, post); a clear error for a model or variant without a spiking branch."""
    try:
        parts = run.model.partition() if hasattr(run.model, "partition") else None
    except ValueError as exc:  # e.g. MDFT's mlp_snn ablation says it has nothing to deploy
        raise RunError(f"{run.run_dir}: {exc}") from None
    if parts is None:
        raise RunError(f"{run.run_dir}: model {run.name!r} has no spiking branch to deploy "
                       "(train stft or mdft, without the mlp_snn ablation)")
    return parts


def dynamic_threshold(run: Run) -> bool:
    return bool(getattr(run.model.cfg, "dynamic_threshold", False))


def chain_sizes(branch) -> dict[str, int]:
    """Chain -> number of layers of a :class:`~neuro_av.models.partition.SpikingBranch`."""
    return {c: len(layers) for c, layers in branch.chains.items()}


def streams(snn_in: SnnInput) -> tuple[dict, dict, np.ndarray]:
    """(currents, thresholds, mask) of a batch as float64 NumPy arrays under their stream names."""
    currents = {naming.input_node(c): snn_in.current[c].detach().double().cpu().numpy() for c in snn_in.current}
    thresholds = {naming.threshold_stream(c, i): torch.as_tensor(th).detach().double().cpu().numpy()
                  for c, ths in snn_in.thresholds.items() for i, th in enumerate(ths)}
    return currents, thresholds, snn_in.mask.detach().cpu().numpy().astype(bool)


def snn_input(branch, currents: dict, thresholds: dict, mask: np.ndarray) -> SnnInput:
    """The inverse of :func:`streams`: NumPy streams back into the branch's ``SnnInput``."""
    sizes = chain_sizes(branch)
    return SnnInput({c: torch.from_numpy(np.asarray(currents[naming.input_node(c)])) for c in sizes},
                    {c: [torch.from_numpy(np.asarray(thresholds[naming.threshold_stream(c, i)])) for i in range(n)]
                     for c, n in sizes.items()}, torch.from_numpy(np.asarray(mask)))


def norse_reference(branch, snn_in: SnnInput) -> dict[str, np.ndarray]:
    """Spikes of every layer from the Norse branch run in float64 (the reference of every backend)."""
    ref = copy.deepcopy(branch).cpu().double()
    ref.fixed_point = None  # a fine-tuned branch's reference is still its float LIF
    x = SnnInput({c: v.double() for c, v in snn_in.current.items()},
                 {c: [torch.as_tensor(t).double() for t in ths] for c, ths in snn_in.thresholds.items()}, snn_in.mask)
    with torch.no_grad():
        out = ref(x)
    return {naming.neuron_node(c, i): s.numpy().astype(np.uint8) for c, layers in out.spikes.items()
            for i, s in enumerate(layers)}


def as_snn_output(branch, spikes: dict[str, np.ndarray]) -> SnnOutput:
    return SnnOutput({c: [torch.from_numpy(np.ascontiguousarray(spikes[naming.neuron_node(c, i)])).float()
                          for i in range(n)] for c, n in chain_sizes(branch).items()})
