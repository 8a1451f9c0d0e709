"""NIR chains → a Lava process graph (floating point), run one clip at a time.

Mapping of one ``Affine(W, b) → CubaLIF`` layer (NIR semantics of :mod:`neuro_av.export.nir_reference`;
β = dt/τ_syn, α = dt/τ_mem)::

    Dense(weights = α·r·β·w_in · W)            (graded first input: num_message_bits > 0)
    DynamicThresholdLIF(du = β, dv = α, bias = α·v_leak)   or Lava's LIF for static thresholds

so that Lava's ``u`` is α·r·I and its ``v`` is Norse's v. Two things need care:

- **Affine bias**: Norse adds b to the *current*, Lava's LIF bias goes to the *voltage*. The bias is
  therefore a second Dense column (α·r·β·w_in·b) fed by a source that emits 1 on every step.
- **Delays**: each Dense sends the previous step's accumulation, so layer l (0-based) of Lava at step
  t + l + 1 is Norse's layer l at step t. Each chain runs T + L steps; layer l's bias source and
  threshold stream start at step l + 1 (before that the threshold is +inf-like, the bias 0), and
  read-outs drop the first l + 1 steps. Result: spike trains in the Norse time alignment.

Sharp edges: one clip per run here (state starts at zero), one Lava network per chain (Lava runs only
the processes connected to the one it starts); many clips per compiled network is the
co-simulation's job. Every network is stopped, also on error.
"""
from __future__ import annotations

import nir
import numpy as np

from neuro_av.export.nir_reference import chains_of
from neuro_av.lava_compat import import_lava

GRADED_MESSAGE_BITS = 24  # Dense carries graded (non-binary) values on its first layer
SILENT_THRESHOLD = 1e30  # before a layer's aligned start nothing may spike


def _layer_gain(node: nir.CubaLIF, dt_s: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    beta = dt_s / np.asarray(node.tau_syn, np.float64)
    alpha = dt_s / np.asarray(node.tau_mem, np.float64)
    gain = alpha * np.asarray(node.r, np.float64) * beta * np.asarray(node.w_in, np.float64)
    return gain, alpha, beta


def _uniform(values: np.ndarray, what: str, node: str) -> float:
    if not np.allclose(values, values.flat[0]):
        raise ValueError(f"{node}: Lava's LIF takes one {what} per population; this node has several")
    return float(values.flat[0])


def run_float(graph: nir.NIRGraph, dt_s: float, currents: dict[str, np.ndarray],
              thresholds: dict[str, np.ndarray] | None = None) -> dict[str, np.ndarray]:
    """Spikes (T, N) of every CubaLIF node for one clip (inputs (T, N_in) keyed by Input node),
    in Norse's time alignment, from Lava's ``floating_pt`` models."""
    import_lava()
    from lava.magma.core.run_conditions import RunSteps
    from lava.magma.core.run_configs import Loihi2SimCfg
    from lava.proc.dense.process import Dense
    from lava.proc.io.sink import RingBuffer as Sink
    from lava.proc.io.source import RingBuffer as Source
    from lava.proc.lif.process import LIF

    from neuro_av.export.lava_dt_lif.process import DynamicThresholdLIF

    thresholds = thresholds or {}
    chains = chains_of(graph)
    steps = next(iter(currents.values())).shape[0]
    spikes = {}
    # Lava compiles only the processes connected to the one it runs: one network per chain.
    for inp, pairs in chains.items():
        total = steps + len(pairs)
        first = np.zeros((currents[inp].shape[1], total))
        first[:, :steps] = np.asarray(currents[inp], np.float64).T
        src = Source(data=first)
        port, sinks = src.s_out, {}
        for l, (fc, lif_name) in enumerate(pairs):
            affine, node = graph.nodes[fc], graph.nodes[lif_name]
            gain, alpha, beta = _layer_gain(node, dt_s)
            n = affine.weight.shape[0]
            dense = Dense(weights=gain[:, None] * np.asarray(affine.weight, np.float64),
                          num_message_bits=GRADED_MESSAGE_BITS if l == 0 else 0)
            du, dv = _uniform(beta, "du", lif_name), _uniform(alpha, "dv", lif_name)
            bias_v = alpha * np.asarray(node.v_leak, np.float64)
            stream = node.metadata.get("threshold_input") if node.metadata else None
            if stream:
                theta = np.full((n, total), SILENT_THRESHOLD)
                theta[:, l + 1:l + 1 + steps] = np.broadcast_to(
                    np.asarray(thresholds[stream], np.float64), (steps, n)).T
                lif = DynamicThresholdLIF(shape=(n,), du=du, dv=dv, vth=float(np.mean(node.v_threshold)),
                                          bias_mant=bias_v)
                Source(data=theta).s_out.connect(lif.th_in)
            else:
                lif = LIF(shape=(n,), du=du, dv=dv, vth=_uniform(np.asarray(node.v_threshold), "vth", lif_name),
                          bias_mant=bias_v)
            port.connect(dense.s_in)
            dense.a_out.connect(lif.a_in)
            bias = np.asarray(affine.bias, np.float64)
            if np.any(bias):
                on = np.zeros((1, total))
                on[0, l:l + steps] = 1.0  # arrives one step later, at the layer's aligned start
                bias_dense = Dense(weights=(gain * bias)[:, None], num_message_bits=GRADED_MESSAGE_BITS)
                Source(data=on).s_out.connect(bias_dense.s_in)
                bias_dense.a_out.connect(lif.a_in)
            sink = Sink(shape=(n,), buffer=total)
            lif.s_out.connect(sink.a_in)
            sinks[lif_name] = (sink, l)
            port = lif.s_out
        try:
            src.run(condition=RunSteps(num_steps=total), run_cfg=Loihi2SimCfg(select_tag="floating_pt"))
            spikes.update({name: sink.data.get().T[l + 1:l + 1 + steps].copy() for name, (sink, l) in sinks.items()})
        finally:
            src.stop()
    return spikes
