"""Each chain of a :class:`LavaPlan` as a lava-dl netx ``.net`` file (the format Loihi users deploy).

Layout read by ``lava.lib.dl.netx.hdf5.Network``::

    layer/0: type "input", shape [N_in + 2]
    layer/l: type "dense", shape [N_l (+1)], weight [N_l (+1), N_{l-1} + 1 (+1 for l = 1)] (integers),
             bias [N_l (+1)], neuron/{type "CUBA", iDecay, vDecay, vThMant, refDelay, gradedSpike}

What netx cannot say, and how the file says it instead:

- **Static thresholds only.** netx's CUBA neuron has one ``vThMant``: the file holds the base θ_0.
  Dynamic thresholds run in neuro-av's own Lava network (``DynamicThresholdLIF``), not here.
- **Biases go to the current** in neuro-av (Norse adds b to i), netx's ``bias`` to the voltage. So
  biases travel as weights from units that are always on: input channel N_in (feed it
  ``bias_channel_value`` on every step) for the first layer and, for every layer but the last, an
  extra "bias neuron" that spikes on every step and feeds the next layer's bias column. The first
  layer's bias neuron is driven by input channel N_in + 1 (feed it ``drive_channel_value``), deeper
  ones by a voltage bias above their threshold. Ignore each layer's last neuron.
- **No weight exponent in the file**: netx recomputes it from integers in [−256, 254]. Each layer
  therefore gets its own voltage scale s_l = 254 / max|W_l|, capped so that the bias neuron's bias
  (vThMant + 1) fits Lava's 13-bit bias mantissa (thresholds ``vThMant = round(θ_0·s_l)``); the
  first layer's threshold stays below 2^15. The graded input is ``round(x·input_scale)`` (8-bit
  payloads by default), the bias channel value balances the bias column against the input weights;
  all of it is in the returned info.
- Decays: ``iDecay = round(β·4096)`` (netx maps it to Lava's du = iDecay − 1), ``vDecay = round(α·4096)``.
"""
from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path

import numpy as np
from neuro_av.export.lava.fixed_point import BIAS_MANTISSA_BITS, MAX_WEIGHT_MANTISSA
from neuro_av.export.lava.oracle import DECAY_UNITY
from neuro_av.export.lava.plan import LavaPlan

from neuro_av.errors import ExportError
from neuro_av.io import write_bytes

REFRACTORY_DELAY = 1  # Loihi's minimum: no refractory period beyond the spike step
BIAS_MANTISSA_MAX = 2 ** (BIAS_MANTISSA_BITS - 1) - 1
FIRST_LAYER_VTH_MAX = 2**15  # keeps 24-bit u and v (inputs and threshold << 6) clear of overflow


def chain_order(plan: LavaPlan, input_name: str) -> list[str]:
    """Populations fed from ``input_name``, input side first; a plain chain or an error."""
    order, src = [], input_name
    while True:
        nxt = [s for s in plan.synapses if s.src == src and s.dst != src]
        if not nxt:
            return order
        if len(nxt) > 1 or len(plan.incoming(nxt[0].dst)) != 1:
            raise ExportError(f"netx export takes plain Dense chains; {src} fans out or {nxt[0].dst} has "
                                 "several inputs (recurrent or merged layers)")
        order.append(nxt[0].dst)
        src = nxt[0].dst


def _even(x: np.ndarray) -> np.ndarray:
    """Lava keeps even mantissas for mixed-sign weights."""
    return np.clip(2 * np.rint(x / 2), -MAX_WEIGHT_MANTISSA, MAX_WEIGHT_MANTISSA).astype(np.int64)


def _bias_neuron_scale(pop) -> float:
    """Largest voltage scale for a layer whose bias neuron is driven by its voltage bias (vth + 1, a
    13-bit mantissa)."""
    return (BIAS_MANTISSA_MAX - 1) / max(float(np.max(pop.vth)), 1e-12)


def netx_refusal(plan: LavaPlan, input_name: str) -> str | None:
    """Why the chain fed by ``input_name`` cannot be a netx file, or None if it can."""
    try:
        order = chain_order(plan, input_name)
    except ExportError as exc:
        return str(exc)
    for name in order:
        pop = plan.populations[name]
        if not pop.spiking:
            return f"{name} is a read-out ({pop.node_type}); netx's CUBA neurons always spike"
        for what, values in (("du", pop.du), ("dv", pop.dv), ("threshold", pop.vth)):
            if not np.allclose(values, values[0]):
                return f"{name} has per-neuron {what}; netx's CUBA layer takes one value per layer"
        if np.any(pop.v_reset != 0) or np.any(pop.v_init != 0):
            return f"{name} resets or starts at a non-zero voltage; netx's CUBA neuron uses 0"
    return None


def write_netx(plan: LavaPlan, input_name: str, path: Path, input_peak: float, input_bits: int = 8) -> dict:
    """Write the chain fed by ``input_name``; returns what a user needs to drive it."""
    import h5py

    why = netx_refusal(plan, input_name)
    if why:
        raise ExportError(f"netx export of the chain fed by {input_name}: {why}")
    order = chain_order(plan, input_name)
    payload_max = 2 ** (input_bits - 1) - 1
    input_scale = payload_max / max(float(input_peak), 1e-12)
    (first,) = plan.incoming(order[0])
    ratio = np.abs(first.bias).max() / max(float(np.abs(first.weight).max()) / input_scale, 1e-30)
    bias_value = int(np.clip(np.rint(ratio), 1, payload_max))
    drive_value = 1
    path = Path(path)
    layers = []
    buf = io.BytesIO()  # HDF5 into memory, then one atomic write (see nir_graph.write_graph)
    with h5py.File(buf, "w") as f:
        f.create_dataset("layer/0/type", (1,), "S10", [b"input"])
        f.create_dataset("layer/0/shape", data=np.array([plan.inputs[input_name] + 2]))
        for l, name in enumerate(order, start=1):
            pop, (syn,) = plan.populations[name], plan.incoming(name)
            last = l == len(order)
            w = syn.weight / (input_scale if syn.graded else 1.0)
            b = syn.bias / (bias_value if syn.graded else 1.0)
            matrix = np.concatenate([w, b[:, None]], axis=1)
            cap = FIRST_LAYER_VTH_MAX / max(float(np.max(pop.vth)), 1e-12) if l == 1 else _bias_neuron_scale(pop)
            scale = min(MAX_WEIGHT_MANTISSA / max(float(np.abs(matrix).max()), 1e-12), cap)
            weight = _even(matrix * scale)
            vth = int(np.clip(np.rint(float(np.max(pop.vth)) * scale), 1, None))
            bias = np.rint(pop.v_bias * scale).astype(np.int64)
            if l == 1:  # the drive channel feeds only the bias neuron
                weight = np.concatenate([weight, np.zeros((weight.shape[0], 1), np.int64)], axis=1)
            if not last:  # the bias neuron fires every step from the first one on
                row = np.zeros((1, weight.shape[1]), np.int64)
                if l == 1:  # driven from the input: 254 × drive > vth on the first step already
                    row[0, -1] = MAX_WEIGHT_MANTISSA
                    drive_value = vth // MAX_WEIGHT_MANTISSA + 1
                    bias = np.concatenate([bias, [0]])
                else:  # a voltage bias above threshold
                    bias = np.concatenate([bias, [vth + 1]])
                weight = np.concatenate([weight, row])
            g = f"layer/{l}"
            f.create_dataset(f"{g}/type", (1,), "S10", [b"dense"])
            f.create_dataset(f"{g}/shape", data=np.array([weight.shape[0]]))
            f.create_dataset(f"{g}/weight", data=weight.astype(np.float64))
            f.create_dataset(f"{g}/bias", data=bias.astype(np.float64))
            f.create_dataset(f"{g}/neuron/type", (1,), "S10", [b"CUBA"])
            f.create_dataset(f"{g}/neuron/iDecay", data=int(round(pop.du[0] * DECAY_UNITY)))
            f.create_dataset(f"{g}/neuron/vDecay", data=int(round(pop.dv[0] * DECAY_UNITY)))
            f.create_dataset(f"{g}/neuron/vThMant", data=vth)
            f.create_dataset(f"{g}/neuron/refDelay", data=REFRACTORY_DELAY)
            f.create_dataset(f"{g}/neuron/gradedSpike", data=False)
            layers.append({"population": name, "neurons": pop.size, "bias_neuron": not last, "scale": scale,
                           "vThMant": vth, "weight_rel_error": float(np.linalg.norm(weight[:pop.size, :matrix.shape[1]] / scale - matrix)
                                                                      / max(np.linalg.norm(matrix), 1e-30))})
    write_bytes(buf.getvalue(), path)
    return {"input": input_name, "input_scale": input_scale, "input_bits": input_bits,
            "bias_channel": plan.inputs[input_name], "bias_channel_value": bias_value,
            "drive_channel": plan.inputs[input_name] + 1, "drive_channel_value": drive_value, "layers": layers,
            "thresholds": "static θ_0 (netx has no threshold input)"}


def run_netx(path: Path, info: dict, currents: np.ndarray, mask: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Load ``path`` through ``netx.hdf5.Network`` and drive it with clips' graded input (B, T, N_in) in
    Lava's fixed point, back to back in windows of T + depth steps (netx's own ``reset_interval``
    zeroes each layer at the start of its window, as if each clip ran alone). Returns every layer's
    spikes (B, T, N_l) in the reference time alignment, bias neurons dropped."""
    from neuro_av.lava_compat import import_netx, stopped_after

    netx = import_netx()
    from lava.magma.core.run_conditions import RunSteps
    from lava.magma.core.run_configs import Loihi2SimCfg
    from lava.proc.io.source import RingBuffer as Source
    from neuro_av.export.lava.writer.process import LaneWriter

    currents = np.asarray(currents, np.float64)
    batch, steps, width = currents.shape
    mask = np.ones((batch, steps), bool) if mask is None else np.asarray(mask, bool)
    depth = len(info["layers"])
    window = steps + depth
    limit = 2 ** (info["input_bits"] - 1) - 1
    x = np.zeros((batch, window, width + 2), np.int64)
    x[:, :steps, :width] = np.clip(np.rint(currents * mask[:, :, None] * info["input_scale"]), -limit, limit)
    x[:, :, -2] = info["bias_channel_value"]
    x[:, :, -1] = info["drive_channel_value"]
    bits = max(info["input_bits"], int(np.ceil(np.log2(max(info["drive_channel_value"], 1) + 1))) + 1)
    net = netx.hdf5.Network(net_config=str(path), input_message_bits=bits, reset_interval=window, reset_offset=1)
    source = Source(data=x.reshape(batch * window, width + 2).T.copy())
    source.s_out.connect(net.inp)
    with tempfile.TemporaryDirectory(prefix=f"neuro-av-netx-{os.getpid()}-") as folder:
        files = []
        for i, layer in enumerate(net.layers):
            f = Path(folder) / f"{i}.u8"
            n = int(np.prod(layer.out.shape))
            np.memmap(f, dtype=np.uint8, mode="w+", shape=(batch * window, n)).flush()
            layer.out.connect(LaneWriter(shape=(n,), path=str(f), steps=batch * window).a_in)
            files.append((f, n))
        with stopped_after(net):  # killed at once on Ctrl-C (see neuro_av.lava_compat)
            net.run(condition=RunSteps(num_steps=batch * window), run_cfg=Loihi2SimCfg(select_tag="fixed_pt"))
        out = {}
        for d, ((f, n), entry) in enumerate(zip(files, info["layers"]), start=1):
            rows = np.fromfile(f, dtype=np.uint8).reshape(batch, window, n)
            out[entry["population"]] = rows[:, d:d + steps, :entry["neurons"]].copy()
    return out
