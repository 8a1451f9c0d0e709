"""A NumPy oracle of neuro-av's CubaLIF discretisation, run from a NIR graph alone.

For feed-forward chains ``Input → (Affine → CubaLIF)* → Output`` (what :func:`snn_to_nir` writes),
per step t, with β = dt/τ_syn and α = dt/τ_mem per neuron::

    x   = W s_prev(t) + b                      (graded input for the first Affine)
    I'  = I + β · w_in · x                     (= I + x for neuro-av's w_in = τ_syn/dt)
    v'  = v + α · (v_leak − v + r · I')
    I   ← I' · (1 − β)
    s   = v' > θ_t;   v ← v_reset where s, else v'

``θ_t`` is the node's ``v_threshold`` or, where the node's metadata names a ``threshold_input``,
the stream of that name. This is the order of Norse's ``lif_feed_forward_step``; the Norse branch,
the NIR file and this oracle must agree spike for spike (tested in float64).
"""
from __future__ import annotations

import nir
import numpy as np


def chains_of(graph: nir.NIRGraph) -> dict[str, list[tuple[str, str]]]:
    """input node -> [(affine, cubalif), ...] following the edges."""
    succ = {}
    for a, b in graph.edges:
        succ.setdefault(a, []).append(b)
    out = {}
    for name, node in graph.nodes.items():
        if not isinstance(node, nir.Input):
            continue
        pairs, cur = [], name
        while True:
            nxt = succ.get(cur, [])
            if len(nxt) != 1 or isinstance(graph.nodes[nxt[0]], nir.Output):
                break
            fc = nxt[0]
            (lif,) = succ[fc]
            if not (isinstance(graph.nodes[fc], nir.Affine) and isinstance(graph.nodes[lif], nir.CubaLIF)):
                raise ValueError(f"the oracle runs Affine → CubaLIF chains; found {fc} → {lif}")
            pairs.append((fc, lif))
            cur = lif
        out[name] = pairs
    return out


def simulate(graph: nir.NIRGraph, dt_s: float, currents: dict[str, np.ndarray],
             thresholds: dict[str, np.ndarray] | None = None) -> dict[str, np.ndarray]:
    """Spikes (B, T, N) of every CubaLIF node, for graded inputs (B, T, N_in) keyed by Input node."""
    thresholds = thresholds or {}
    spikes = {}
    for inp, pairs in chains_of(graph).items():
        s_prev = np.asarray(currents[inp], dtype=np.float64)
        for fc, lif in pairs:
            a, n = graph.nodes[fc], graph.nodes[lif]
            x = s_prev @ np.asarray(a.weight, np.float64).T + np.asarray(a.bias, np.float64)  # (B, T, N)
            beta = dt_s / np.asarray(n.tau_syn, np.float64)
            alpha = dt_s / np.asarray(n.tau_mem, np.float64)
            stream = n.metadata.get("threshold_input") if n.metadata else None
            theta = np.broadcast_to(np.asarray(thresholds[stream] if stream else n.v_threshold, np.float64), x.shape)
            i = np.zeros(x[:, 0].shape)
            v = np.zeros(x[:, 0].shape)
            out = np.zeros(x.shape)
            for t in range(x.shape[1]):
                i_jump = i + beta * np.asarray(n.w_in, np.float64) * x[:, t]
                v_new = v + alpha * (np.asarray(n.v_leak, np.float64) - v + np.asarray(n.r, np.float64) * i_jump)
                i = i_jump * (1 - beta)
                out[:, t] = v_new > theta[:, t]
                v = np.where(out[:, t] > 0, np.asarray(n.v_reset, np.float64), v_new)
            spikes[lif] = out
            s_prev = out
    return spikes
