"""Per-layer spike and operation counts of one backend's run, over valid (unpadded) steps only.

Counts are kept as sums (so shards of a split merge exactly) and turned into per-clip means for
reports. ``synops``: presynaptic spikes × fan-out, the fan-out being the source's non-zero weights
(its stored synapses: nengo-loihi's ``Synapse.set_weights`` stores a sparse matrix's non-zero weights
per input axon, with their compartment indices, so a target without a weight costs no synaptic
operation; a conv layer's composed matrix is mostly such zeros); ``graded_synops``: non-zero graded
inputs × the same fan-out; ``dense_macs``: every weight, every step (NeuroBench's
SynapticOperations ``Dense``), except for a synapse that stands for a conv or pooling node, where
only its non-zero weights count (a dense accelerator runs a conv as a conv, not as its composed
matrix); ``neuron_updates``: neurons × steps (the upper bound
of NeuroBench's MembraneUpdates); ``rate``: spikes per neuron update (1 − ActivationSparsity).
``effective_acs`` / ``effective_macs`` are NeuroBench's Effective_ACs / Effective_MACs
(:mod:`neuro_av.sim.neurobench`): every non-zero source value × the non-zero weights of its column,
as ACs where the source values are all in {-1, 0, 1}, else as MACs.
"""
from __future__ import annotations

import numpy as np
from neuro_av.export.lava.plan import LavaPlan

STRUCTURED = ("conv", "pool")  # linear-op kinds whose composed matrix is mostly structural zeros
SUMMED = ("spikes", "synops", "graded_synops", "dense_macs", "neuron_updates", "effective_acs", "effective_macs")


def _valid_sum(x: np.ndarray, mask: np.ndarray) -> float:
    return float((np.asarray(x, np.float64) * mask[:, :, None]).sum())


def _per_source(x: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """(N,) non-zero values of each source neuron over valid (clip, step) bins."""
    return ((np.asarray(x) != 0) & mask[:, :, None]).sum(axis=(0, 1), dtype=np.float64)


def _events(x: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """(N,) spikes of each source neuron over valid (clip, step) bins (a spike's value is its count)."""
    return (np.asarray(x, np.float64) * mask[:, :, None]).sum(axis=(0, 1))


def _binary(x: np.ndarray) -> bool:
    """NeuroBench's test for spiking inputs (``binary_inputs``): every value is -1, 0 or 1."""
    x = np.asarray(x)
    return bool(np.isin(x, (-1, 0, 1)).all())


def _spike_stream(x: np.ndarray) -> bool:
    """An input of binary spikes (every value 0 or 1, :func:`neuro_av.data.spike_input.binary_inputs`):
    its events are spike events, SynOps, not graded ones."""
    return bool(np.isin(np.asarray(x), (0, 1)).all())


def layer_sums(plan: LavaPlan, currents: dict[str, np.ndarray], spikes: dict[str, np.ndarray],
               mask: np.ndarray) -> dict[str, dict]:
    steps = float(mask.sum())
    layers = {}
    for name, pop in plan.populations.items():
        row = {"spikes": _valid_sum(spikes[name], mask) if pop.spiking else 0.0, "synops": 0.0, "graded_synops": 0.0,
               "dense_macs": 0.0, "neuron_updates": pop.size * steps, "effective_acs": 0.0, "effective_macs": 0.0}
        for s in plan.incoming(name):
            fan_out = (np.asarray(s.weight) != 0).sum(axis=0)  # (N_src,) stored synapses of each source
            structural = any(op.get("kind") in STRUCTURED for op in s.ops)
            row["dense_macs"] += (float(fan_out.sum()) if structural else s.weight.shape[1] * pop.size) * steps
            src = currents[s.src] if s.graded else spikes[s.src]
            ops = float(_per_source(src, mask) @ fan_out)
            row["effective_acs" if not s.graded or _binary(src) else "effective_macs"] += ops
            if s.graded and not _spike_stream(currents[s.src]):
                row["graded_synops"] += ops
            else:  # spikes of a population, or an input of binary spikes (counted as the plan counts it)
                row["synops"] += float(_events(src, mask) @ fan_out)
        layers[name] = row
    return layers


def merge_sums(parts: list[dict]) -> dict:
    return {name: {k: sum(p[name][k] for p in parts) for k in SUMMED} for name in parts[0]}


def per_clip(plan: LavaPlan, sums: dict, clips: int) -> tuple[dict, dict]:
    """(per-layer figures, totals) as per-clip means, with firing rates."""
    clips = max(clips, 1)
    layers = {}
    for name, row in sums.items():
        pop = plan.populations[name]
        mean = {k: row[k] / clips for k in SUMMED}
        layers[name] = {"neurons": pop.size, "depth": pop.depth, **mean,
                        "rate": mean["spikes"] / max(mean["neuron_updates"], 1e-30)}
    totals = {k: sum(r[k] for r in layers.values()) for k in SUMMED}
    totals["first_layer_dense_macs"] = sum(r["dense_macs"] for r in layers.values() if r["depth"] == 1)
    totals["rate"] = totals["spikes"] / max(totals["neuron_updates"], 1e-30)
    return layers, totals
