"""``torch-fixed``: a :class:`~neuro_av.export.lava.fixed_point.FixedPlan` run in torch with exactly
the integer arithmetic of Lava's bit-accurate ``fixed_pt`` Dense and LIF models (and of neuro-av's
lane processes), all clips of a batch at once, on the CPU or a CUDA GPU. No Lava import: Lava stays
the ground truth this is tested against, spike for spike and state for state.

Per step and population, in the reference time alignment (feed-forward synapses carry this step's
spikes, recurrent ones the previous step's), with integer tensors only::

    a   = wrap32( Σ_syn shift(W_int · s, weight_exp) + on · shift(b_int, bias_exp) )
    u   = wrap24( wrap32( decay(u, du + 1) + (a << 6) ) )           decay(x, d) = sign(x·(4096−d))·(|x·(4096−d)| >> 12)
    v   = clip24( decay(v, dv) + u + (bias_mant << bias_exp) )
    s   = v > (θ_int << 6);   v ← v_reset where s

``W_int`` are the 8-bit mantissas after Lava's clipping and truncation (mixed-sign matrices lose their
LSB), graded inputs the host's 8-bit payload with Lava's int32 dot-product wrap. The products
``W_int · s`` are computed as float matrix products, exact because every partial sum of 8-bit
weights times 8-bit (or binary) inputs over fewer than 2^20 inputs stays below 2^53 (float64), or,
for a synapse whose fan-in · max|w| · max|x| is below 2^24, below float32's exact range — so the
result is the same integer on every device and in every summation order.

Order of work: where every recurrent synapse is a population's onto itself, populations run one after
another, each with one product per synapse for all steps of its input at once (B·T rows), then its
compartment steps; recurrence between populations makes all of them advance one step at a time.
"""
from __future__ import annotations

import numpy as np
import torch

from neuro_av.export.lava.oracle import (
    ACTIVATION_SHIFT,
    CURRENT_DECAY_OFFSET,
    DECAY_BITS,
    DECAY_UNITY,
    STATE_BITS,
    THRESHOLD_SHIFT,
    _lava_weights,
)
from neuro_av.export.plan import Record
from neuro_av.functional.loihi_formats import THRESHOLD_PRECISION_BITS

EXACT_INPUTS = 2**20  # beyond this fan-in a float64 sum of 8-bit × 8-bit products may not be exact
MAX_UV = 2 ** (STATE_BITS - 1)
THRESHOLD_MAX = 2**THRESHOLD_PRECISION_BITS - 1  # Lava's vth register


def _wrap(x: torch.Tensor, bits: int) -> torch.Tensor:
    """Two's-complement wrap of int64 values to ``bits`` bits (what an int32 cast does in NumPy)."""
    half = 1 << (bits - 1)
    return torch.remainder(x + half, 1 << bits) - half


def _shift(x: torch.Tensor, exp: int) -> torch.Tensor:
    return torch.bitwise_left_shift(x, exp) if exp > 0 else torch.bitwise_right_shift(x, -exp)


def _decay(x: torch.Tensor, decay: torch.Tensor) -> torch.Tensor:
    prod = x * (DECAY_UNITY - decay)
    return torch.sign(prod) * torch.bitwise_right_shift(torch.abs(prod), DECAY_BITS)


def _product(x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """Exact integer x @ w.T (x (B, N_in) of integers, any integer dtype; w (N_out, N_in) float32 or float64 of integers: float32
    only where every partial sum stays below 2^24, see :func:`_exact_dtype`)."""
    return (x.to(w.dtype) @ w.T).to(torch.int64)  # every partial sum is an exact integer: no rounding


def _exact_dtype(w: np.ndarray, input_peak: int) -> torch.dtype:
    """float32 when |partial sums| ≤ fan-in · max|w| · max|x| < 2^24 (every one an exact float32
    integer, whatever the summation order), else float64 (exact below 2^53)."""
    bound = w.shape[1] * float(np.abs(w).max(initial=0)) * input_peak
    return torch.float32 if bound < 2**24 else torch.float64


class _Prepared:
    """The fixed plan's integers as tensors on one device."""

    def __init__(self, fixed, device: torch.device):
        self.fixed, self.device = fixed, device
        for s in fixed.synapses:
            if s.weight.shape[1] > EXACT_INPUTS:
                raise ValueError(f"{s.name}: fan-in {s.weight.shape[1]} exceeds the {EXACT_INPUTS} inputs whose "
                                 "products torch-fixed sums exactly")
        as_t = lambda a: torch.as_tensor(np.asarray(a), dtype=torch.int64, device=device)  # noqa: E731
        self.w = {}
        for s in fixed.synapses:
            w = _lava_weights(fixed.weights[s.name].weight)
            dtype = _exact_dtype(w, fixed.input_limit if s.graded else 1)
            self.w[s.name] = torch.as_tensor(w.astype(np.float64), device=device).to(dtype)
        self.b = {s.name: as_t(_lava_weights(fixed.weights[s.name].bias[:, None])[:, 0]) for s in fixed.synapses}
        self.incoming = {name: fixed.incoming(name) for name in fixed.populations}
        self.neurons = {}
        for name, n in fixed.neurons.items():
            self.neurons[name] = {"du": as_t(n.du) + CURRENT_DECAY_OFFSET, "dv": as_t(n.dv),
                                  "bias": torch.bitwise_left_shift(as_t(n.bias_mant), int(n.bias_exp)),
                                  "v_reset": as_t(n.v_reset), "v_init": as_t(n.v_init)}


def run_fixed_torch(fixed, currents: dict[str, np.ndarray], thresholds: dict | None = None,
                    mask: np.ndarray | None = None, device: str | torch.device = "cpu",
                    batch_size: int = 2048) -> tuple[Record, dict]:
    """Spikes (B, T, N) of every spiking population and voltages of the read-outs, with
    ``counts[pop] = {"u_wraps", "v_saturations"}`` over valid neuron-steps — the same record and
    counts as :func:`neuro_av.export.lava.oracle.run_fixed_plan`. Clips go through in chunks of
    ``batch_size`` (memory: a chunk's streams are held as int64)."""
    thresholds = thresholds or {}
    device = torch.device(device)
    prep = _Prepared(fixed, device)
    first = np.asarray(next(iter(currents.values())))
    batch, steps = first.shape[:2]
    mask = np.ones((batch, steps), bool) if mask is None else np.asarray(mask, bool)
    parts, counts = [], {p: {"u_wraps": 0, "v_saturations": 0} for p in fixed.populations}
    for start in range(0, batch, batch_size):
        stop = min(batch, start + batch_size)
        thr = {k: (np.asarray(v)[start:stop] if np.ndim(v) == 3 and np.shape(v)[0] > 1 else v) for k, v in thresholds.items()}
        rec, c = _run_chunk(prep, {k: np.asarray(v)[start:stop] for k, v in currents.items()}, thr, mask[start:stop])
        parts.append(rec)
        for p, d in c.items():
            for k, v in d.items():
                counts[p][k] += v
    spikes = {k: np.concatenate([r.spikes[k] for r in parts]) for k in parts[0].spikes}
    volts = {k: np.concatenate([r.voltages[k] for r in parts]) for k in parts[0].voltages}
    return Record(spikes, volts, {"device": str(device)}), counts


def _run_chunk(prep: _Prepared, currents: dict, thresholds: dict, mask: np.ndarray) -> tuple[Record, dict]:
    fixed, dev = prep.fixed, prep.device
    batch, steps = mask.shape
    valid = torch.as_tensor(mask, device=dev)
    enc = {k: torch.as_tensor(fixed.encode_input(k, np.asarray(x, np.float64) * mask[:, :, None]), device=dev)
           for k, x in currents.items()}
    order = fixed.plan.order()
    theta = {}
    for p in order:
        if p.spiking and p.threshold_input:  # encode_threshold's rint and clip, in torch on the device
            src = torch.as_tensor(np.asarray(thresholds[p.threshold_input], np.float64), device=dev)
            th = torch.clamp(torch.round(src * fixed.scale[p.name]), 0, THRESHOLD_MAX).to(torch.int64)
            th = th.expand(batch, steps, p.size)
        else:
            th = torch.as_tensor(fixed.encode_threshold(p.name, np.zeros((1, 1, p.size))), device=dev)
        th = torch.where(valid[:, :, None], th, torch.full_like(th, fixed.silent))
        theta[p.name] = torch.bitwise_left_shift(th, THRESHOLD_SHIFT)
    out = {p.name: torch.zeros((batch, steps, p.size), dtype=torch.uint8, device=dev) for p in order}
    volts = {p.name: torch.zeros((batch, steps, p.size), dtype=torch.int64, device=dev) for p in order if not p.spiking}
    counts = {}
    if all(s.src == s.dst for s in fixed.synapses if s.recurrent):
        for p in order:  # a population's whole input sequence is known once its sources have run
            counts[p.name] = _population(prep, p, enc, out, volts, theta[p.name], valid)
    else:  # recurrence between populations: every population advances one step at a time
        state = {p.name: _State(prep, p, batch) for p in order}
        for t in range(steps):
            for p in order:
                a = _input(prep, p, enc, out, valid, t)
                state[p.name].step(a, theta[p.name][:, t], valid[:, t, None], t, out, volts)
        counts = {k: st.counts() for k, st in state.items()}
    record = Record({k: o.cpu().numpy() for k, o in out.items() if fixed.populations[k].spiking},
                    {k: fixed.decode_voltage(k, o.cpu().numpy()) for k, o in volts.items()}, {})
    return record, counts


def _drive(prep: _Prepared, s, src: torch.Tensor, on: torch.Tensor) -> torch.Tensor:
    """One synapse's contribution to its target's input: shifted products (int32-wrapped for graded
    host input, as Lava's Dense) plus the shifted bias on valid steps; ``src`` (..., N_in)."""
    q = prep.fixed.weights[s.name]
    acc = _product(src.reshape(-1, src.shape[-1]), prep.w[s.name]).reshape(*src.shape[:-1], -1)
    if s.graded:
        acc = _wrap(acc, 32)
    return _shift(acc, q.weight_exp) + on * _shift(prep.b[s.name], q.bias_exp)


def _input(prep: _Prepared, p, enc: dict, out: dict, valid: torch.Tensor, t: int) -> torch.Tensor:
    """Population ``p``'s input at step ``t`` (feed-forward synapses carry this step's spikes,
    recurrent ones the previous step's, none at step 0 but their bias)."""
    on = valid[:, t, None]
    a = torch.zeros((valid.shape[0], p.size), dtype=torch.int64, device=valid.device)
    for s in prep.incoming[p.name]:
        if s.recurrent and t == 0:
            a = a + on * _shift(prep.b[s.name], prep.fixed.weights[s.name].bias_exp)
            continue
        src = enc[s.src][:, t] if s.graded else out[s.src][:, t - 1 if s.recurrent else t]
        a = a + _drive(prep, s, src, on)
    return a


def _population(prep: _Prepared, p, enc: dict, out: dict, volts: dict, theta: torch.Tensor,
                valid: torch.Tensor) -> dict:
    """All steps of population ``p`` whose only recurrence is onto itself: its feed-forward input for
    every step in one product per synapse, then the compartment steps."""
    on = valid[:, :, None]
    incoming = prep.incoming[p.name]
    drive = torch.zeros((*valid.shape, p.size), dtype=torch.int64, device=valid.device)
    for s in incoming:
        if not s.recurrent:
            drive = drive + _drive(prep, s, enc[s.src] if s.graded else out[s.src], on)
    recurrent = [s for s in incoming if s.recurrent]
    state = _State(prep, p, valid.shape[0])
    for t in range(valid.shape[1]):
        a = drive[:, t]
        for s in recurrent:
            if t == 0:
                a = a + on[:, 0] * _shift(prep.b[s.name], prep.fixed.weights[s.name].bias_exp)
            else:
                a = a + _drive(prep, s, out[s.src][:, t - 1], on[:, t])
        state.step(a, theta[:, t], on[:, t], t, out, volts)
    return state.counts()


class _State:
    """One population's current and voltage, advanced a step at a time by Lava's fixed_pt LIF."""

    def __init__(self, prep: _Prepared, p, batch: int):
        self.p, self.n = p, prep.neurons[p.name]
        dev = prep.device
        self.u = torch.zeros((batch, p.size), dtype=torch.int64, device=dev)
        self.v = self.n["v_init"].expand(batch, p.size).clone()
        self.wraps = torch.zeros((), dtype=torch.int64, device=dev)
        self.sats = torch.zeros((), dtype=torch.int64, device=dev)

    def step(self, a: torch.Tensor, theta: torch.Tensor, on: torch.Tensor, t: int, out: dict, volts: dict) -> None:
        n, name = self.n, self.p.name
        a = _wrap(a, 32)  # Lava's Dense sends int32 messages
        raw_u = _wrap(_decay(self.u, n["du"]) + torch.bitwise_left_shift(a, ACTIVATION_SHIFT), 32)
        wrapped = torch.where(raw_u > MAX_UV, raw_u - 2 * MAX_UV, raw_u)
        wrapped = torch.where(wrapped <= -MAX_UV, raw_u + 2 * MAX_UV, wrapped)
        self.wraps += ((wrapped != raw_u) & on).sum()
        self.u = wrapped
        raw_v = _decay(self.v, n["dv"]) + wrapped + n["bias"]
        v_new = torch.clamp(raw_v, -MAX_UV + 1, MAX_UV - 1)
        self.sats += ((v_new != raw_v) & on).sum()
        spk = v_new > theta
        out[name][:, t] = spk.to(torch.uint8)
        self.v = torch.where(spk, n["v_reset"].expand_as(v_new), v_new)
        if not self.p.spiking:
            volts[name][:, t] = self.v

    def counts(self) -> dict:
        return {"u_wraps": int(self.wraps), "v_saturations": int(self.sats)}
