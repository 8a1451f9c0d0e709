"""The plan in NumPy, float64: the reference every other backend is compared with (NIR's semantics
as :mod:`neuro_av.export.compile` discretises them), performing Lava's float operations in Lava's
order, so Lava float must equal it bit for bit."""
from __future__ import annotations

import numpy as np

from neuro_av.export.plan import SILENT_FLOAT, Plan, Record, Synapse
from neuro_av.memory import require


def accumulate(syn: Synapse, values: np.ndarray, on: np.ndarray) -> np.ndarray:
    """(B, N_dst): what a Dense and its bias column deliver, computed as Lava's float models do it,
    clip by clip (``W·x`` for graded values, the sum of the spiking inputs' columns for spikes), so
    the sums are bit for bit Lava's."""
    if syn.graded:
        acc = [syn.weight.dot(x) for x in values]
    else:
        acc = [syn.weight[:, s.astype(bool)].sum(axis=1) for s in values]
    return np.stack([a + syn.bias if o else a for a, o in zip(acc, on)])


def simulate(plan: Plan, currents: dict[str, np.ndarray], thresholds: dict[str, np.ndarray] | None = None,
             mask: np.ndarray | None = None) -> Record:
    """Spikes and read-out voltages, in the reference time alignment: feed-forward synapses carry this
    step's spikes, recurrent ones the previous step's. ``currents``: input -> (B, T, N_in);
    ``thresholds``: stream -> broadcastable to (B, T, N); ``mask`` (B, T): the synaptic input (bias
    included) is off on padded steps, as in Lava (Norse zeroes it there too)."""
    thresholds = thresholds or {}
    first = np.asarray(next(iter(currents.values())))
    batch, steps = first.shape[:2]
    valid = np.ones((batch, steps), bool) if mask is None else np.asarray(mask, bool)
    order = plan.order()
    entries = batch * steps * sum(p.size * (1 if p.spiking else 2) for p in order)  # out, and volts of read-outs
    require(entries * 8, f"the reference's record of {batch:,} clip(s) × {steps:,} steps × "
            f"{sum(p.size for p in order):,} neurons", "give fewer clips or shorter ones (sim --limit N), "
            "or a smaller graph")
    u = {p.name: np.zeros((batch, p.size)) for p in order}
    v = {p.name: np.broadcast_to(p.v_init, (batch, p.size)).copy() for p in order}
    out = {p.name: np.zeros((batch, steps, p.size)) for p in order}
    volts = {p.name: np.zeros((batch, steps, p.size)) for p in order if not p.spiking}
    theta = {p.name: np.broadcast_to(np.asarray(thresholds[p.threshold_input] if p.threshold_input else p.vth,
                                                np.float64), (batch, steps, p.size)) for p in order}
    for t in range(steps):
        for p in order:
            x = np.zeros((batch, p.size))
            for s in plan.incoming(p.name):
                if s.src in plan.inputs:
                    values = np.asarray(currents[s.src][:, t], np.float64) * valid[:, t, None]
                elif not s.recurrent:
                    values = out[s.src][:, t]
                else:  # the previous step's spikes (none before the first step)
                    values = out[s.src][:, t - 1] if t > 0 else np.zeros((batch, plan.populations[s.src].size))
                x = x + accumulate(s, values, valid[:, t])
            u[p.name] = u[p.name] * (1 - p.du) + x
            v[p.name] = v[p.name] * (1 - p.dv) + u[p.name] + p.v_bias
            spk = v[p.name] > np.where(valid[:, t, None], theta[p.name][:, t], SILENT_FLOAT)
            out[p.name][:, t] = spk
            v[p.name] = np.where(spk, p.v_reset, v[p.name])
            if not p.spiking:
                volts[p.name][:, t] = v[p.name]
    return Record({k: o for k, o in out.items() if plan.populations[k].spiking}, volts, {})
