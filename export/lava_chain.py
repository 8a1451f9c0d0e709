"""Run a feed-forward ``source -> (Dense -> LIF)*`` chain in Lava and read every layer's spikes.

The smallest real Lava network neuro-av builds: ``neuro-av doctor`` and the set-up tests use it
to prove the installed stack runs under both ``floating_pt`` and ``fixed_pt``. Parameters use
Lava's own units (see :mod:`neuro_av.export.lava_reference`, the NumPy oracle of the same chain).

Sharp edges: the network is always stopped, also on error (Lava runs each process as an OS
process with shared-memory channels that leak otherwise); Dense delays its output by one step.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from neuro_av.export.lava_reference import LifLayer
from neuro_av.lava_compat import import_lava

RUN_TAGS = ("floating_pt", "fixed_pt")


def run_chain(spikes_in: np.ndarray, layers: Sequence[LifLayer], tag: str) -> list[np.ndarray]:
    """Spikes [T, N_l] per layer for binary input ``spikes_in`` [T, N_in] under run tag ``tag``."""
    if tag not in RUN_TAGS:
        raise ValueError(f"run tag {tag!r} is not one of {RUN_TAGS}")
    import_lava()
    from lava.magma.core.run_conditions import RunSteps
    from lava.magma.core.run_configs import Loihi2SimCfg
    from lava.proc.dense.process import Dense
    from lava.proc.io.sink import RingBuffer as Sink
    from lava.proc.io.source import RingBuffer as Source
    from lava.proc.lif.process import LIF

    from neuro_av.export.lava_dt_lif.process import DynamicThresholdLIF

    steps = spikes_in.shape[0]
    source = Source(data=np.asarray(spikes_in, dtype=float).T)  # Lava wants [N, T]
    port, sinks = source.s_out, []
    for layer in layers:
        n_out = layer.weights.shape[0]
        dense = Dense(weights=np.asarray(layer.weights, dtype=float))
        if np.ndim(layer.vth) == 2:  # per-step thresholds [T, N], streamed into the th_in port
            lif = DynamicThresholdLIF(shape=(n_out,), du=layer.du, dv=layer.dv, vth=float(np.mean(layer.vth)),
                                      bias_mant=layer.bias)
            Source(data=np.asarray(layer.vth, dtype=float).T).s_out.connect(lif.th_in)
        else:
            lif = LIF(shape=(n_out,), du=layer.du, dv=layer.dv, vth=layer.vth, bias_mant=layer.bias)
        sink = Sink(shape=(n_out,), buffer=steps)
        port.connect(dense.s_in)
        dense.a_out.connect(lif.a_in)
        lif.s_out.connect(sink.a_in)
        port, sinks = lif.s_out, sinks + [sink]
    try:
        source.run(condition=RunSteps(num_steps=steps), run_cfg=Loihi2SimCfg(select_tag=tag))
        return [sink.data.get().T.copy() for sink in sinks]
    finally:
        source.stop()
