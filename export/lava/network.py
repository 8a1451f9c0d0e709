"""Run a plan (:class:`LavaPlan`, float, or :class:`FixedPlan`, bit-accurate fixed point) in Lava,
many clips per compiled network and per time step.

**Lanes.** Every process has a lane axis: L clips advance side by side in one Lava time step, each
lane an independent copy of the network (:mod:`~neuro_av.export.lava.lif`,
:mod:`~neuro_av.export.lava.dense`, :mod:`~neuro_av.export.lava.writer`; inputs and thresholds come
from Lava's ``RingBuffer`` sources with an (L, N) output). A batch of clips therefore costs
``T + depth`` Lava steps per *round* of L clips instead of per clip; Lava's per-step, per-process
overhead is paid once for all lanes. ``lanes=1`` is the back-to-back path: one clip per window.

**Windows.** Rounds run back to back, one window of ``W = T + depth`` Lava steps each. A population
of depth d holds the reference's step t at window offset d + t (Dense delays, see
:mod:`neuro_av.export.lava.plan`), so in every window it

- has u and v reset at offset d (``LaneLIF``'s window reset: Lava does not reset state by itself),
- gets its threshold stream θ_t at offsets d … d + T − 1 and an unreachable threshold elsewhere,
  so nothing it computes outside its window can spike into the next population or the next round.

Each synapse's bias is on during the clip's valid steps only (one ``bias_in`` source per depth,
shared by the synapses of that depth, which also joins independent chains into one network, so
Lava runs them in one go). Padded steps (``mask`` False, at the end of a clip): the input is zero,
biases are off and the threshold is unreachable, so Lava's populations are silent there.

Spikes (and the voltages of read-out populations) are written to memory-mapped files in a
temporary folder (``neuro-av-lava-<pid>-*``). The network is always stopped, also on error; on
Ctrl-C or SIGTERM its processes are killed (:func:`neuro_av.lava_compat.stopped_after`): Lava's
processes and shared memory would leak otherwise, and a polite stop would wait for ever.
"""
from __future__ import annotations

import math
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from neuro_av.lava_compat import import_lava, stopped_after
from neuro_av.memory import available_bytes, require

GRADED_MESSAGE_BITS = 24  # Dense carries graded (non-binary) values from the inputs
LANE_MEMORY_FRACTION = 0.25  # of the memory available when a build starts
LANE_MEMORY_CAP = 4 << 30  # bytes, whatever the machine has
HOST_COPIES = 3  # the host's buffer, the Var's initial value, the process model's copy
CLIPS_PER_RUN_CALL = 64  # back-to-back rounds are run in calls of about this many clips


@dataclass
class LavaResult:
    spikes: dict[str, np.ndarray]  # spiking population -> (B, T, N) uint8, reference time alignment
    voltages: dict[str, np.ndarray]  # read-out (or probed) population -> (B, T, N) float
    lanes: int  # clips per Lava time step
    lava_steps: int
    builds: int
    build_s: float  # building the processes, compiling, and the first run call
    run_s: float  # the later run calls


def bytes_per_lane(plan, steps: int) -> int:
    """Host memory one lane needs: its input, threshold and bias streams and its output files."""
    window = steps + plan.depth
    values = sum(plan.inputs.values()) + sum(p.size for p in plan.populations.values()) + plan.depth
    outputs = sum(p.size * (1 if p.spiking else 8) for p in plan.populations.values())
    return window * (values * 8 * HOST_COPIES + outputs)


def auto_lanes(plan, clips: int, steps: int) -> int:
    """As many lanes as the batch has clips, within a share of the memory available now."""
    budget = min(LANE_MEMORY_CAP, int(available_bytes() * LANE_MEMORY_FRACTION))
    return int(max(1, min(clips, budget // max(bytes_per_lane(plan, steps), 1))))


def run_plan(plan, currents: dict[str, np.ndarray], thresholds: dict | None = None,
             mask: np.ndarray | None = None, lanes: int | None = None,
             progress: Callable[[int], None] | None = None, record_voltage: tuple[str, ...] = ()) -> LavaResult:
    """Spikes of every spiking population (and voltages of read-out ones and of ``record_voltage``)
    for ``currents`` (input -> (B, T, N_in)) and threshold streams (name -> broadcastable to
    (B, T, N)). ``mask`` (B, T) marks valid steps (default: all). ``lanes``: clips per Lava step
    (default :func:`auto_lanes`; 1 = back to back). ``progress(n)`` is called as n more clips finish."""
    if getattr(plan, "lava_refusal", None):
        from neuro_av.errors import ExportError

        raise ExportError(f"Lava cannot run this network: {plan.lava_refusal}")
    import_lava()
    thresholds = thresholds or {}
    first = np.asarray(next(iter(currents.values())))
    batch, steps = first.shape[:2]
    mask = np.ones((batch, steps), bool) if mask is None else np.asarray(mask, bool)
    per_build = auto_lanes(plan, batch, steps)
    if lanes is not None:
        if lanes < 1:
            raise ValueError(f"lanes must be at least 1, got {lanes}")
        per_build = max(per_build, lanes)  # explicit lanes: at least one round of them per build
    lanes = lanes or per_build
    record = batch * steps * sum(p.size * (1 if p.spiking else 8) for p in plan.populations.values())
    require(min(lanes, batch) * bytes_per_lane(plan, steps) + record,
            f"Lava's buffers of {min(lanes, batch):,} lane(s) and the record of {batch:,} clip(s) × {steps:,} steps × "
            f"{sum(p.size for p in plan.populations.values()):,} neurons",
            "give fewer clips or shorter ones (sim --limit N), fewer lanes (--lanes 1), or a smaller graph")
    spikes: dict[str, list] = {}
    voltages: dict[str, list] = {}
    total = LavaResult({}, {}, lanes, 0, 0, 0.0, 0.0)
    for start in range(0, batch, per_build):
        stop = min(batch, start + per_build)
        part = _run_build(plan, {k: np.asarray(v)[start:stop] for k, v in currents.items()},
                          {k: _slice(v, start, stop) for k, v in thresholds.items()}, mask[start:stop],
                          min(lanes, stop - start), progress, record_voltage)
        for k, v in part.spikes.items():
            spikes.setdefault(k, []).append(v)
        for k, v in part.voltages.items():
            voltages.setdefault(k, []).append(v)
        total.lava_steps += part.lava_steps
        total.builds += 1
        total.build_s += part.build_s
        total.run_s += part.run_s
    total.spikes = {k: np.concatenate(v) for k, v in spikes.items()}
    total.voltages = {k: np.concatenate(v) for k, v in voltages.items()}
    return total


def _slice(value, start: int, stop: int):
    a = np.asarray(value)
    return a[start:stop] if a.ndim == 3 and a.shape[0] > 1 else a


def _theta(pop, thresholds: dict, batch: int, steps: int) -> np.ndarray:
    if pop.threshold_input and pop.threshold_input not in thresholds:
        raise KeyError(f"threshold stream {pop.threshold_input!r} of {pop.name} was not given")
    src = thresholds[pop.threshold_input] if pop.threshold_input else pop.vth
    return np.broadcast_to(np.asarray(src, np.float64), (batch, steps, pop.size))


class _Layout:
    """Where clip c, step t sits: lane c mod L, Lava step (c div L)·W + offset + t."""

    def __init__(self, batch: int, steps: int, lanes: int, depth: int):
        self.batch, self.steps, self.lanes = batch, steps, lanes
        self.window = steps + depth
        self.rounds = math.ceil(batch / lanes)
        self.total = self.rounds * self.window

    def stream(self, per_clip: np.ndarray, offset: int, fill, dtype) -> np.ndarray:
        """(B, T, N) per clip -> (L, N, total) source data, ``fill`` outside the clips' steps."""
        n = per_clip.shape[-1]
        data = np.full((self.rounds * self.lanes, self.window, n), fill, dtype)
        data[:self.batch, offset:offset + self.steps] = per_clip
        data = data.reshape(self.rounds, self.lanes, self.window, n)
        return np.ascontiguousarray(data.transpose(1, 3, 0, 2).reshape(self.lanes, n, self.total))

    def unstream(self, rows: np.ndarray, offset: int) -> np.ndarray:
        """(total, L, N) written rows -> (B, T, N) per clip."""
        n = rows.shape[-1]
        per = rows.reshape(self.rounds, self.window, self.lanes, n).transpose(0, 2, 1, 3)
        return per.reshape(self.rounds * self.lanes, self.window, n)[:self.batch, offset:offset + self.steps].copy()


def _bias_offset(plan, syn) -> int:
    return plan.populations[syn.dst].depth - 1 - syn.delay


def _models(tag: str, procs: list) -> dict:
    """Every process's model, keyed by the process itself: Lava's compiler then skips its search,
    which executes every module beside each process once per process (most of a compile's time)."""
    from lava.proc.io.source import PySendModelFixed, PySendModelFloat, RingBuffer
    from neuro_av.export.lava.dense.models import PyLaneDenseFixed, PyLaneDenseFloat
    from neuro_av.export.lava.dense.process import LaneDense
    from neuro_av.export.lava.lif.models import PyLaneLIFFixed, PyLaneLIFFloat
    from neuro_av.export.lava.lif.process import LaneLIF
    from neuro_av.export.lava.writer.models import PyLaneWriterModel
    from neuro_av.export.lava.writer.process import LaneWriter

    fixed = tag == "fixed_pt"
    table = {RingBuffer: PySendModelFixed if fixed else PySendModelFloat,
             LaneLIF: PyLaneLIFFixed if fixed else PyLaneLIFFloat,
             LaneDense: PyLaneDenseFixed if fixed else PyLaneDenseFloat, LaneWriter: PyLaneWriterModel}
    return {p: table[type(p)] for p in procs}


def _run_build(plan, currents, thresholds, mask, lanes, progress, record_voltage) -> LavaResult:
    from lava.magma.core.run_conditions import RunSteps
    from lava.magma.core.run_configs import Loihi2SimCfg
    from lava.proc.io.source import RingBuffer as Source
    from neuro_av.export.lava.dense.process import LaneDense
    from neuro_av.export.lava.lif.process import LaneLIF
    from neuro_av.export.lava.writer.process import LaneWriter

    batch, steps = np.asarray(next(iter(currents.values()))).shape[:2]
    at = _Layout(batch, steps, lanes, plan.depth)
    t0 = time.perf_counter()
    fixed = plan.run_tag == "fixed_pt"
    dtype = np.int64 if fixed else np.float64
    # a synapse's bias is read at offset d_dst − 1 − delay (it arrives 1 + delay steps later, at the
    # destination's step): one source per offset, on at its T steps where valid
    bias_on = {o: Source(data=at.stream(mask[:, :, None].astype(dtype), o, 0, dtype))
               for o in sorted({_bias_offset(plan, s) for s in plan.synapses})}
    sources, lifs, writers = {}, {}, {}
    theta_sources, denses, writer_procs = [], [], []
    folder = tempfile.TemporaryDirectory(prefix=f"neuro-av-lava-{os.getpid()}-")
    try:
        for name in plan.inputs:
            x = np.asarray(currents[name], np.float64) * mask[:, :, None]
            sources[name] = Source(data=at.stream(plan.encode_input(name, x), 0, 0, dtype))
        for name, pop in plan.populations.items():
            theta = plan.encode_threshold(name, _theta(pop, thresholds, batch, steps))
            theta = np.where(mask[:, :, None], theta, plan.silent)
            lif = LaneLIF(lanes=lanes, **plan.neuron(name), reset_interval=at.window, reset_offset=pop.depth)
            theta_sources.append(Source(data=at.stream(theta, pop.depth, plan.silent, dtype)))
            theta_sources[-1].s_out.connect(lif.th_in)
            outputs = [("spikes", lif.s_out, "uint8")] if pop.spiking else []
            if not pop.spiking or name in record_voltage:
                outputs.append(("voltages", lif.v_out, "int64" if fixed else "float64"))
            for kind, port, out_dtype in outputs:
                path = Path(folder.name) / f"{len(writers)}.{kind}"
                np.memmap(path, dtype=out_dtype, mode="w+", shape=(at.total, lanes, pop.size)).flush()
                writer = LaneWriter(shape=(lanes, pop.size), path=str(path), steps=at.total, dtype=out_dtype)
                port.connect(writer.a_in)
                writer_procs.append(writer)
                writers[(kind, name)] = (path, out_dtype)
            lifs[name] = lif
        for s in plan.synapses:
            dense = LaneDense(lanes=lanes, graded=s.graded, delay=s.delay, **plan.synapse(s))
            denses.append(dense)
            (sources[s.src] if s.graded else lifs[s.src]).s_out.connect(dense.s_in)
            bias_on[_bias_offset(plan, s)].s_out.connect(dense.bias_in)
            dense.a_out.connect(lifs[s.dst].a_in)
        run_cfg = Loihi2SimCfg(select_tag=plan.run_tag, exception_proc_model_map=_models(plan.run_tag, [
            *bias_on.values(), *sources.values(), *lifs.values(), *theta_sources, *denses, *writer_procs]))
        build_s = run_s = 0.0
        per_call = max(1, CLIPS_PER_RUN_CALL // lanes)  # rounds per run() call (progress, bounded pauses)
        handle = next(iter(bias_on.values()))
        with stopped_after(handle):
            for r in range(0, at.rounds, per_call):
                n = min(per_call, at.rounds - r)
                t1 = time.perf_counter()
                handle.run(condition=RunSteps(num_steps=n * at.window), run_cfg=run_cfg)
                if r == 0:  # the first call compiles the network and starts its processes
                    build_s = time.perf_counter() - t0
                else:
                    run_s += time.perf_counter() - t1
                if progress:
                    progress(min(batch, (r + n) * lanes) - r * lanes)
        result = LavaResult({}, {}, lanes, at.total, 1, build_s, run_s)
        for (kind, name), (path, out_dtype) in writers.items():
            rows = np.fromfile(path, dtype=out_dtype).reshape(at.total, lanes, -1)
            per_clip = at.unstream(rows, plan.populations[name].depth)
            if kind == "spikes":
                result.spikes[name] = per_clip
            else:
                result.voltages[name] = plan.decode_voltage(name, per_clip)
        return result
    finally:
        folder.cleanup()
