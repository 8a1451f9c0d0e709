"""Lava's *stock* processes, for proving neuro-av's own ones exact: ``source → (Dense → LIF)*``.

Only ``lava.proc.dense.process.Dense``, ``lava.proc.lif.process.LIF`` and ``RingBuffer`` source and
sink are used (one clip, static thresholds), in Lava's own units (see
:mod:`neuro_av.export.lava.oracle`). A bias column is a stock Dense fed by an always-on source, as
neuro-av's first release built it.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
from neuro_av.export.lava.oracle import LifLayer

from neuro_av.lava_compat import import_lava

RUN_TAGS = ("floating_pt", "fixed_pt")


def run_stock_chain(x: np.ndarray, layers: Sequence[LifLayer], tag: str, graded: bool = False,
                    weight_exps: Sequence[int] | None = None, bias_columns: Sequence | None = None,
                    windowed: bool = False) -> list[np.ndarray]:
    """Spikes [T, N_l] per layer for input ``x`` [T, N_in] (binary spikes, or graded values with
    ``graded``) under run tag ``tag``. ``bias_columns[l]``: (weights (N_l,), weight_exp) of a Dense
    column fed by an always-on source, or None."""
    if tag not in RUN_TAGS:
        raise ValueError(f"run tag {tag!r} is not one of {RUN_TAGS}")
    import_lava()
    from lava.magma.core.run_conditions import RunSteps
    from lava.magma.core.run_configs import Loihi2SimCfg
    from lava.proc.dense.process import Dense
    from lava.proc.io.sink import RingBuffer as Sink
    from lava.proc.io.source import RingBuffer as Source
    from lava.proc.lif.process import LIF, LIFReset

    steps = x.shape[0]
    source = Source(data=np.asarray(x, dtype=float).T)  # Lava wants [N, T]
    on = Source(data=np.ones((1, steps)))
    port, sinks = source.s_out, []
    for i, layer in enumerate(layers):
        n_out = layer.weights.shape[0]
        exp = {} if weight_exps is None else {"weight_exp": int(weight_exps[i])}
        dense = Dense(weights=np.asarray(layer.weights, dtype=float), num_message_bits=24 if graded and i == 0 else 0,
                      **exp)
        kw = dict(shape=(n_out,), du=layer.du, dv=layer.dv, vth=layer.vth, bias_mant=layer.bias)
        lif = LIFReset(**kw, reset_interval=steps + 1, reset_offset=i + 2) if windowed else LIF(**kw)
        sink = Sink(shape=(n_out,), buffer=steps)
        port.connect(dense.s_in)
        dense.a_out.connect(lif.a_in)
        if bias_columns is not None and bias_columns[i] is not None:
            col_w, col_exp = bias_columns[i]
            col = Dense(weights=np.asarray(col_w, dtype=float)[:, None], weight_exp=int(col_exp))
            on.s_out.connect(col.s_in)
            col.a_out.connect(lif.a_in)
        lif.s_out.connect(sink.a_in)
        port, sinks = lif.s_out, sinks + [sink]
    try:
        source.run(condition=RunSteps(num_steps=steps), run_cfg=Loihi2SimCfg(select_tag=tag))
        return [sink.data.get().T.copy() for sink in sinks]
    finally:
        source.stop()
