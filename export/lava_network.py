"""Run a :class:`LavaPlan` (float) or :class:`FixedPlan` (bit-accurate fixed point) in Lava, many clips
per compiled network.

Clips run back to back, one window of ``W = T + depth`` Lava steps each. A population of depth d
holds the reference's step t at window offset d + t (Dense delays, :mod:`neuro_av.export.lava_plan`),
so in every window it

- has u and v zeroed at offset d (``DynamicThresholdLIF``'s ``reset_interval``/``reset_offset``:
  Lava does not reset state by itself),
- gets its threshold stream θ_t at offsets d … d + T − 1 and an unreachable threshold elsewhere, so
  nothing it computes outside its window can spike into the next population or the next clip.

Every population uses neuro-av's ``DynamicThresholdLIF`` (a static threshold is a constant stream).
Each Affine bias is a Dense column fed by a source that is on during the clip's steps, one source per
depth (shared by all populations of that depth, which also joins independent chains into one network,
so Lava runs them in one go).

Padded steps (``mask`` False, at the end of a clip): the input is zero, biases are off and the
threshold is unreachable, so Lava's populations are silent there. Norse masks the input current too
but may still spike from leftover state; ``post`` ignores padded steps, and comparisons count valid
steps only. Spikes are written to
memory-mapped files by ``SpikeWriter`` processes. The network is always stopped, also on error or
Ctrl-C: Lava's processes and shared memory would leak otherwise.
"""
from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from neuro_av.export.fixed_point import FixedPlan
from neuro_av.export.lava_plan import LavaPlan
from neuro_av.export.lava_reference import STATE_BITS, THRESHOLD_SHIFT
from neuro_av.lava_compat import import_lava

GRADED_MESSAGE_BITS = 24  # Dense carries graded (non-binary) values from the inputs
SILENT_FLOAT = 1e30
SILENT_FIXED = 2 ** (STATE_BITS - 1 - THRESHOLD_SHIFT)  # (x << 6) exceeds every 24-bit voltage
CLIPS_PER_BUILD = 512  # bounds the host memory of the input and threshold buffers


@dataclass
class LavaResult:
    spikes: dict[str, np.ndarray]  # population -> (B, T, N) uint8, reference time alignment
    lava_steps: int
    builds: int
    build_s: float  # building the processes, compiling, and the first run call
    run_s: float  # the later run calls
    voltages: dict[str, np.ndarray] | None = None  # probed populations -> (B, T, N), state units


def _theta(plan: LavaPlan, pop, thresholds: dict, batch: int, steps: int) -> np.ndarray:
    src = thresholds.get(pop.threshold_input) if pop.threshold_input else None
    if pop.threshold_input and src is None:
        raise KeyError(f"threshold stream {pop.threshold_input!r} of {pop.name} was not given")
    return np.broadcast_to(np.asarray(pop.vth if src is None else src, np.float64), (batch, steps, pop.size))


def run_plan(plan: LavaPlan | FixedPlan, currents: dict[str, np.ndarray], thresholds: dict | None = None,
             progress: Callable[[int], None] | None = None, clips_per_build: int = CLIPS_PER_BUILD,
             clips_per_run: int | None = None, probe_voltage: tuple[str, ...] = (),
             mask: np.ndarray | None = None) -> LavaResult:
    """Spikes of every population for ``currents`` (input -> (B, T, N_in)) and threshold streams
    (name -> broadcastable to (B, T, N)); ``progress(n)`` is called as n more clips finish.
    ``probe_voltage`` names populations whose v is recorded too (Lava ``Monitor``: slow, small nets only).
    ``mask`` (B, T) marks valid steps (default: all)."""
    import_lava()
    thresholds = thresholds or {}
    first = np.asarray(next(iter(currents.values())))
    batch, steps = first.shape[:2]
    mask = np.ones((batch, steps), bool) if mask is None else np.asarray(mask, bool)
    spikes: dict[str, list] = {}
    voltages: dict[str, list] = {}
    total = LavaResult({}, 0, 0, 0.0, 0.0)
    for start in range(0, batch, clips_per_build):
        stop = min(batch, start + clips_per_build)
        part = _run_block(plan, {k: np.asarray(v)[start:stop] for k, v in currents.items()},
                          {k: _slice(v, start, stop) for k, v in thresholds.items()}, mask[start:stop], progress,
                          clips_per_run or max(1, min(64, stop - start)), probe_voltage)
        for k, v in part.spikes.items():
            spikes.setdefault(k, []).append(v)
        for k, v in (part.voltages or {}).items():
            voltages.setdefault(k, []).append(v)
        total.lava_steps += part.lava_steps
        total.builds += 1
        total.build_s += part.build_s
        total.run_s += part.run_s
    total.spikes = {k: np.concatenate(v) for k, v in spikes.items()}
    total.voltages = {k: np.concatenate(v) for k, v in voltages.items()} or None
    return total


def _slice(value, start: int, stop: int):
    a = np.asarray(value)
    return a[start:stop] if a.ndim == 3 and a.shape[0] > 1 else a


def _run_block(plan, currents, thresholds, mask, progress, clips_per_run, probe_voltage) -> LavaResult:
    from lava.magma.core.run_conditions import RunSteps
    from lava.magma.core.run_configs import Loihi2SimCfg
    from lava.proc.dense.process import Dense
    from lava.proc.io.source import RingBuffer as Source
    from lava.proc.monitor.process import Monitor

    from neuro_av.export.lava_dt_lif.process import DynamicThresholdLIF
    from neuro_av.export.lava_spike_writer.process import SpikeWriter

    fixed = isinstance(plan, FixedPlan)
    base = plan.plan if fixed else plan
    batch, steps = np.asarray(next(iter(currents.values()))).shape[:2]
    window = steps + base.depth
    total = batch * window
    t0 = time.perf_counter()
    dtype = np.int64 if fixed else np.float64

    def windows(per_clip: np.ndarray, offset: int, fill) -> np.ndarray:  # (B, T, N) -> (N, total)
        data = np.full((batch, window, per_clip.shape[-1]), fill, dtype)
        data[:, offset:offset + steps] = per_clip
        return data.reshape(total, -1).T.copy()

    # bias of depth d arrives one step after it is sent: on at offsets d − 1 … d + T − 2 where valid
    bias_on = {d: Source(data=windows(mask[:, :, None].astype(dtype), d - 1, 0))
               for d in sorted({p.depth for p in base.populations.values()})}
    sources, lifs, writers = {}, {}, {}
    folder = tempfile.TemporaryDirectory(prefix="neuro-av-lava-")
    try:
        for name, width in base.inputs.items():
            x = np.asarray(currents[name], np.float64) * mask[:, :, None]
            sources[name] = Source(data=windows(plan.inputs(name, x) if fixed else x, 0, 0))
        for name, pop in base.populations.items():
            theta = _theta(base, pop, thresholds, batch, steps)
            silent = SILENT_FIXED if fixed else SILENT_FLOAT
            if fixed:  # a static threshold keeps the integer the plan chose for it
                theta = plan.threshold(theta) if pop.threshold_input else \
                    np.broadcast_to(plan.vth[name], (batch, steps, pop.size))
            theta = np.where(mask[:, :, None], theta, silent)
            if fixed:
                lif = DynamicThresholdLIF(shape=(pop.size,), du=plan.du[name], dv=plan.dv[name],
                                          vth=int(plan.vth[name].max()), bias_mant=plan.v_bias[name],
                                          reset_interval=window, reset_offset=pop.depth)
            else:
                lif = DynamicThresholdLIF(shape=(pop.size,), du=pop.du, dv=pop.dv, vth=float(np.max(pop.vth)),
                                          bias_mant=pop.v_bias, reset_interval=window, reset_offset=pop.depth)
            Source(data=windows(theta, pop.depth, silent)).s_out.connect(lif.th_in)
            path = Path(folder.name) / f"{len(writers)}.u8"
            np.memmap(path, dtype=np.uint8, mode="w+", shape=(total, pop.size)).flush()
            writers[name] = (SpikeWriter(shape=(pop.size,), path=str(path), steps=total), path)
            lif.s_out.connect(writers[name][0].a_in)
            lifs[name] = lif
        for pop_name, lif in lifs.items():
            incoming = base.incoming(pop_name)
            for s in incoming:
                src_port = sources[s.src].s_out if s.graded else lifs[s.src].s_out
                bits = GRADED_MESSAGE_BITS if s.graded else 0
                if fixed:
                    q = plan.synapses[s.name]
                    dense = Dense(weights=q.weight, weight_exp=q.weight_exp, num_message_bits=bits)
                else:
                    dense = Dense(weights=s.weight, num_message_bits=bits)
                src_port.connect(dense.s_in)
                dense.a_out.connect(lif.a_in)
            # Bias columns (fixed point: one per synapse, each with its own exponent). Every population
            # gets at least one, zero if need be: it joins all chains into one network for Lava.
            if fixed:
                columns = [(plan.synapses[s.name].bias, plan.synapses[s.name].bias_exp) for s in incoming]
                columns = [c for c in columns if np.any(c[0])] or [(np.zeros(lif.a_in.shape[0], np.int64), 0)]
            else:
                columns = [(sum(s.bias for s in incoming) + np.zeros(lif.a_in.shape[0]), 0)]
            for col_w, col_exp in columns:
                col = Dense(weights=np.asarray(col_w)[:, None], weight_exp=col_exp) if fixed else \
                    Dense(weights=np.asarray(col_w)[:, None])
                bias_on[base.populations[pop_name].depth].s_out.connect(col.s_in)
                col.a_out.connect(lif.a_in)
        monitors = {}
        for name in probe_voltage:
            monitors[name] = Monitor()
            monitors[name].probe(lifs[name].v, total)
        run_cfg = Loihi2SimCfg(select_tag="fixed_pt" if fixed else "floating_pt")
        build_s = run_s = 0.0
        done = 0
        try:
            while done < batch:
                n = min(clips_per_run, batch - done)
                t1 = time.perf_counter()
                bias_on[1].run(condition=RunSteps(num_steps=n * window), run_cfg=run_cfg)
                if done == 0:  # the first call compiles the network and starts its processes
                    build_s = time.perf_counter() - t0
                else:
                    run_s += time.perf_counter() - t1
                done += n
                if progress:
                    progress(n)
            probed = {name: np.asarray(m.get_data()[lifs[name].name]["v"]) for name, m in monitors.items()}
        finally:
            bias_on[1].stop()
        out = {}
        for name, (_, path) in writers.items():
            pop = base.populations[name]
            rows = np.fromfile(path, dtype=np.uint8).reshape(batch, window, pop.size)
            out[name] = rows[:, pop.depth:pop.depth + steps].copy()
        volts = {name: v.reshape(batch, window, -1)[:, base.populations[name].depth:][:, :steps].copy()
                 for name, v in probed.items()}
        return LavaResult(out, total, 1, build_s, run_s, volts or None)
    finally:
        folder.cleanup()

