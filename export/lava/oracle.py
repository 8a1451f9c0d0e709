"""A NumPy oracle of Lava's ``Dense`` + ``LIF`` process models, float and bit-accurate fixed point.

Used to check Lava runs (``neuro-av doctor``, tests): it reproduces, step for step, what
``lava.proc.dense.models`` and ``lava.proc.lif.models`` compute in lava-nc 0.10.

Per step t, for a chain ``source -> Dense_1 -> LIF_1 -> Dense_2 -> LIF_2 ...``:

    x_l(t) = W_l · s_{l-1}(t-1)          (Dense sends the previous step's accumulation; x_l(0) = 0)
    u <- u·(1 - du) + x_l(t)
    v <- v·(1 - dv) + u + bias
    s_l(t) = v > vth;  v <- 0 where s_l(t)

Fixed point (Loihi): decays are 12-bit (``u·(DECAY_UNITY - (du + 1)) >> 12``, ``v·(DECAY_UNITY -
dv) >> 12``, rounding toward zero), synaptic input and threshold are shifted left by 6 bits, u wraps
and v saturates at 24 bits, and weights are truncated to 8 bits (mixed-sign matrices lose their LSB).
"""
from __future__ import annotations

from typing import NamedTuple, Sequence

import numpy as np

from neuro_av.functional.loihi_formats import (  # noqa: F401  (the formats, defined once)
    ACTIVATION_SHIFT,
    CURRENT_DECAY_OFFSET,
    DECAY_BITS,
    DECAY_UNITY,
    STATE_BITS,
    THRESHOLD_SHIFT,
    WEIGHT_BITS,
)


class LifLayer(NamedTuple):
    """One Dense -> LIF layer; ``weights`` is [N_out, N_in]; float or integer units per backend.

    ``vth`` is a number (Lava's LIF) or a [T, N] array of per-step thresholds (neuro-av's
    ``DynamicThresholdLIF``, whose threshold arrives through an in-port each step).
    """

    weights: np.ndarray
    du: float
    dv: float
    vth: float | np.ndarray
    bias: float = 0.0


def _threshold(vth, t: int):
    return vth[t] if np.ndim(vth) == 2 else vth


def _delayed_input(weights: np.ndarray, spikes_in: np.ndarray) -> np.ndarray:
    """[T, N_out]: x(t) = W s(t-1), x(0) = 0 — Lava Dense's one-step delay."""
    x = np.zeros((spikes_in.shape[0], weights.shape[0]), dtype=weights.dtype)
    x[1:] = spikes_in[:-1] @ weights.T
    return x


def run_float(spikes_in: np.ndarray, layers: Sequence[LifLayer]) -> list[np.ndarray]:
    """Spikes [T, N_l] of every layer under Lava's ``floating_pt`` models."""
    out, s = [], np.asarray(spikes_in, dtype=float)
    for layer in layers:
        x = _delayed_input(np.asarray(layer.weights, dtype=float), s)
        u = np.zeros(x.shape[1])
        v = np.zeros(x.shape[1])
        s = np.zeros_like(x)
        for t in range(x.shape[0]):
            u = u * (1 - layer.du) + x[t]
            v = v * (1 - layer.dv) + u + layer.bias
            s[t] = v > _threshold(layer.vth, t)
            v[s[t] > 0] = 0
        out.append(s)
    return out


def _decay(state: np.ndarray, decay: int) -> np.ndarray:
    prod = state.astype(np.int64) * (DECAY_UNITY - decay)
    return (np.sign(prod) * (np.abs(prod) >> DECAY_BITS)).astype(np.int64)


def truncate_weights(weights: np.ndarray) -> np.ndarray:
    """Lava's Dense fixed-point weight handling: clip to 8 bits, drop the LSB of mixed-sign matrices."""
    w = np.asarray(weights).astype(np.int64)
    mixed = bool((w < 0).any() and (w > 0).any())
    w = np.clip(w, -(2**WEIGHT_BITS) + (1 if mixed else 0), 2**WEIGHT_BITS - 1)
    shift = int(mixed)
    return (w >> shift) << shift


def run_fixed(spikes_in: np.ndarray, layers: Sequence[LifLayer], reset_at: Sequence[int] = ()) -> list[np.ndarray]:
    """Spikes [T, N_l] of every layer under Lava's bit-accurate ``fixed_pt`` models (weight_exp 0).
    ``reset_at[l]``: a step at which layer l's u and v are zeroed before its input is added (Lava's
    ``LIFReset``, as netx builds it with a ``reset_interval``)."""
    max_state = 2 ** (STATE_BITS - 1)
    out, s = [], np.asarray(spikes_in).astype(np.int64)
    for l, layer in enumerate(layers):
        x = _delayed_input(truncate_weights(layer.weights), s)
        u = np.zeros(x.shape[1], dtype=np.int64)
        v = np.zeros(x.shape[1], dtype=np.int64)
        vth = np.asarray(layer.vth).astype(np.int64) << THRESHOLD_SHIFT
        s = np.zeros_like(x)
        for t in range(x.shape[0]):
            if l < len(reset_at) and t == reset_at[l]:
                u, v = np.zeros_like(u), np.zeros_like(v)
            u = _decay(u, int(layer.du) + CURRENT_DECAY_OFFSET) + (x[t] << ACTIVATION_SHIFT)
            u = np.where(u > max_state, u - 2 * max_state, u)
            u = np.where(u <= -max_state, u + 2 * max_state, u)
            v = np.clip(_decay(v, int(layer.dv)) + u + np.asarray(layer.bias).astype(np.int64), -max_state + 1, max_state - 1)
            s[t] = v > _threshold(vth, t)
            v[s[t] > 0] = 0
        out.append(s)
    return out


def _lava_weights(w: np.ndarray) -> np.ndarray:
    """Lava's clip_weights + truncate_weights at 8 bits, for any sign mode (see ``lava.utils.weightutils``)."""
    w = np.asarray(w).astype(np.int64)
    if (w >= 0).all():  # excitatory
        return np.clip(w, 0, 2**WEIGHT_BITS - 1)
    if (w <= 0).all():  # inhibitory
        return -np.clip(-w, 0, 2**WEIGHT_BITS - 1)
    return (np.clip(w, -(2**WEIGHT_BITS), 2**WEIGHT_BITS - 1) >> 1) << 1  # mixed: the LSB is dropped


def _shift(acc: np.ndarray, exp: int) -> np.ndarray:
    return np.left_shift(acc, exp) if exp > 0 else np.right_shift(acc, -exp)


def run_fixed_plan(fixed, currents: dict[str, np.ndarray], thresholds: dict | None = None,
                   mask: np.ndarray | None = None):
    """A :class:`~neuro_av.export.lava.fixed_point.FixedPlan` in NumPy, step for step as Lava's
    bit-accurate Dense and LIF models compute it (``LaneDense`` / ``LaneLIF``), vectorised over the
    batch and in the reference time alignment. Returns ``(Record, counts)`` where counts per
    population are ``u_wraps`` (the 24-bit current wrapped around) and ``v_saturations`` (the 24-bit
    voltage was clipped), over valid neuron-steps."""
    from neuro_av.export.lava.plan import Record

    thresholds = thresholds or {}
    first = np.asarray(next(iter(currents.values())))
    batch, steps = first.shape[:2]
    valid = np.ones((batch, steps), bool) if mask is None else np.asarray(mask, bool)
    max_uv = 2 ** (STATE_BITS - 1)
    order = fixed.plan.order()
    enc = {k: fixed.encode_input(k, np.asarray(x, np.float64) * valid[:, :, None]) for k, x in currents.items()}
    w = {s.name: (_lava_weights(fixed.weights[s.name].weight), _lava_weights(fixed.weights[s.name].bias[:, None])[:, 0])
         for s in fixed.synapses}
    neurons = {p.name: fixed.neurons[p.name] for p in order}
    u = {p.name: np.zeros((batch, p.size), np.int64) for p in order}
    v = {p.name: np.broadcast_to(neurons[p.name].v_init, (batch, p.size)).astype(np.int64) for p in order}
    out = {p.name: np.zeros((batch, steps, p.size), np.uint8) for p in order}
    volts = {p.name: np.zeros((batch, steps, p.size)) for p in order if not p.spiking}
    theta = {}
    for p in order:
        src = thresholds[p.threshold_input] if p.threshold_input else p.vth
        th = fixed.encode_threshold(p.name, np.broadcast_to(np.asarray(src, np.float64), (batch, steps, p.size)))
        theta[p.name] = np.where(valid[:, :, None], th, fixed.silent).astype(np.int64) << THRESHOLD_SHIFT
    counts = {p.name: {"u_wraps": 0, "v_saturations": 0} for p in order}
    for t in range(steps):
        for p in order:
            n = neurons[p.name]
            a = np.zeros((batch, p.size), np.int64)
            for s in fixed.incoming(p.name):
                q = fixed.weights[s.name]
                weight, bias = w[s.name]
                if s.graded:
                    acc = (enc[s.src][:, t] @ weight.T).astype(np.int32).astype(np.int64)
                elif not s.recurrent:
                    acc = out[s.src][:, t].astype(np.int64) @ weight.T
                elif t > 0:
                    acc = out[s.src][:, t - 1].astype(np.int64) @ weight.T
                else:
                    acc = np.zeros((batch, p.size), np.int64)
                a += _shift(acc, q.weight_exp) + valid[:, t, None] * _shift(bias, q.bias_exp)
            a = a.astype(np.int32).astype(np.int64)  # Lava's Dense sends int32 messages
            raw_u = (_decay(u[p.name], n.du + CURRENT_DECAY_OFFSET).astype(np.int32)
                     + (a << ACTIVATION_SHIFT)).astype(np.int32).astype(np.int64)
            wrapped = np.where(raw_u > max_uv, raw_u - 2 * max_uv, raw_u)
            wrapped = np.where(wrapped <= -max_uv, raw_u + 2 * max_uv, wrapped)
            counts[p.name]["u_wraps"] += int(((wrapped != raw_u) & valid[:, t, None]).sum())
            u[p.name] = wrapped
            bias_eff = np.left_shift(n.bias_mant.astype(np.int64), n.bias_exp)
            raw_v = _decay(v[p.name], n.dv).astype(np.int32).astype(np.int64) + u[p.name] + bias_eff
            v[p.name] = np.clip(raw_v, -max_uv + 1, max_uv - 1)
            counts[p.name]["v_saturations"] += int(((v[p.name] != raw_v) & valid[:, t, None]).sum())
            spk = v[p.name] > theta[p.name][:, t]
            out[p.name][:, t] = spk
            v[p.name] = np.where(spk, n.v_reset, v[p.name])
            if not p.spiking:
                volts[p.name][:, t] = fixed.decode_voltage(p.name, v[p.name])
    record = Record({k: o for k, o in out.items() if fixed.populations[k].spiking}, volts)
    return record, counts
