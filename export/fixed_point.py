"""Quantise a :class:`LavaPlan` for Lava's bit-accurate ``fixed_pt`` (Loihi) models.

Units: one float unit of voltage becomes ``scale`` integer units of threshold (Lava compares
``v > vth << 6``, and adds ``a_in << 6`` to u), so with ``scale`` s:

- thresholds ``vth = round(θ·s)`` (static, and every step of a streamed threshold);
- each Dense stores an 8-bit mantissa and one exponent per layer: ``w_int·2^e ≈ W·s / q_in``, where
  ``q_in`` is 1 for spikes and the input scale for graded inputs (``x_int = round(x·q_in)``);
- decays are 12-bit: ``du = round(β·4096) − 1`` (Loihi adds ``ds_offset`` = 1), ``dv = round(α·4096)``;
- the v bias is added to the 24-bit state unshifted: ``round(α·v_leak·s·2^6)``.

``scale`` defaults to the value that maps the largest threshold seen (static or streamed, from a
calibration batch) to ``2^threshold_bits``, leaving the rest of Lava's 17-bit threshold and 24-bit
state as head-room. The per-layer quantisation error is reported next to the result.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from neuro_av.export.lava_plan import LavaPlan
from neuro_av.export.lava_reference import (ACTIVATION_SHIFT, CURRENT_DECAY_OFFSET, DECAY_UNITY,
                                            STATE_BITS, THRESHOLD_SHIFT, WEIGHT_BITS)

THRESHOLD_PRECISION_BITS = 17  # Lava's fixed-point vth register
BIAS_MANTISSA_BITS = 13  # Lava's bias_mant register (signed)
MAX_WEIGHT_MANTISSA = 2**WEIGHT_BITS - 2  # mixed-sign matrices lose their LSB: even values up to 254


@dataclass(frozen=True)
class FixedPointConfig:
    threshold_bits: int = 12  # the largest threshold becomes 2^threshold_bits
    input_bits: int = 8  # graded inputs: signed payload of this many bits
    scale: float | None = None  # integer units per float voltage unit; None: from threshold_bits


@dataclass
class FixedSynapse:
    weight: np.ndarray  # int64 mantissas (N_dst, N_src)
    weight_exp: int
    bias: np.ndarray  # int64 mantissas (N_dst,), a Dense column of its own
    bias_exp: int


@dataclass
class FixedPlan:
    plan: LavaPlan
    scale: float
    input_scale: dict[str, float]  # input -> q_in
    synapses: dict[str, FixedSynapse]
    du: dict[str, int]
    dv: dict[str, int]
    v_bias: dict[str, np.ndarray]
    vth: dict[str, np.ndarray]
    report: dict
    input_bits: int = FixedPointConfig.input_bits

    def threshold(self, theta) -> np.ndarray:
        return quantise_threshold(theta, self.scale)

    def inputs(self, name: str, x) -> np.ndarray:
        q = self.input_scale[name]
        limit = 2 ** (self.input_bits - 1) - 1
        return np.clip(np.rint(np.asarray(x, np.float64) * q), -limit, limit).astype(np.int64)


def quantise_threshold(theta, scale: float) -> np.ndarray:
    th = np.rint(np.asarray(theta, np.float64) * scale)
    return np.clip(th, 0, 2**THRESHOLD_PRECISION_BITS - 1).astype(np.int64)


def quantise_weights(w: np.ndarray) -> tuple[np.ndarray, int]:
    """8-bit mantissas (even, as Lava keeps them for mixed signs) and the layer's exponent."""
    peak = float(np.abs(w).max())
    if peak == 0:
        return np.zeros(w.shape, np.int64), 0
    exp = int(np.ceil(np.log2(peak / MAX_WEIGHT_MANTISSA)))
    mant = 2 * np.rint(w / 2.0**exp / 2)
    return np.clip(mant, -MAX_WEIGHT_MANTISSA, MAX_WEIGHT_MANTISSA).astype(np.int64), exp


def _rel_error(exact: np.ndarray, approx: np.ndarray) -> float:
    norm = float(np.linalg.norm(exact))
    return float(np.linalg.norm(approx - exact) / norm) if norm else 0.0


def quantise(plan: LavaPlan, cfg: FixedPointConfig = FixedPointConfig(),
             input_peak: dict[str, float] | None = None, threshold_peak: float | None = None) -> FixedPlan:
    """``input_peak``: largest |x| per graded input and ``threshold_peak``: largest streamed threshold,
    both from a calibration batch (static thresholds are read from the plan)."""
    peaks = [float(np.max(p.vth)) for p in plan.populations.values()]
    if threshold_peak is not None:
        peaks.append(float(threshold_peak))
    scale = cfg.scale or 2.0**cfg.threshold_bits / max(max(peaks), 1e-12)
    limit = 2 ** (cfg.input_bits - 1) - 1
    input_scale = {k: limit / max(float((input_peak or {}).get(k, 1.0)), 1e-12) for k in plan.inputs}
    synapses, layers = {}, {}
    for s in plan.synapses:
        q_in = input_scale[s.src] if s.graded else 1.0
        w_exact = s.weight * scale / q_in
        w_int, w_exp = quantise_weights(w_exact)
        b_int, b_exp = quantise_weights(s.bias[:, None] * scale)
        synapses[s.name] = FixedSynapse(w_int, w_exp, b_int[:, 0], b_exp)
        layers[s.name] = {"weight_exp": w_exp, "bias_exp": b_exp, "input_scale": q_in,
                          "weight_rel_error": _rel_error(w_exact, w_int * 2.0**w_exp),
                          "bias_rel_error": _rel_error(s.bias * scale, b_int[:, 0] * 2.0**b_exp)}
    du, dv, v_bias, vth = {}, {}, {}, {}
    bias_limit = 2 ** (BIAS_MANTISSA_BITS - 1) - 1
    for name, p in plan.populations.items():
        du[name] = int(np.clip(round(p.du * DECAY_UNITY) - CURRENT_DECAY_OFFSET, 0, DECAY_UNITY - CURRENT_DECAY_OFFSET))
        dv[name] = int(np.clip(round(p.dv * DECAY_UNITY), 0, DECAY_UNITY - 1))
        v_bias[name] = np.clip(np.rint(p.v_bias * scale * 2**THRESHOLD_SHIFT), -bias_limit, bias_limit).astype(np.int64)
        vth[name] = quantise_threshold(p.vth, scale)
        layers[name] = {"du": du[name], "dv": dv[name],
                        "du_error": abs((du[name] + CURRENT_DECAY_OFFSET) / DECAY_UNITY - p.du),
                        "dv_error": abs(dv[name] / DECAY_UNITY - p.dv),
                        "vth_rel_error": _rel_error(p.vth * scale, vth[name].astype(np.float64))}
    report = {"config": asdict(cfg), "scale": scale, "input_scale": input_scale, "layers": layers,
              "state_bits": STATE_BITS, "activation_shift": ACTIVATION_SHIFT, "weight_bits": WEIGHT_BITS}
    return FixedPlan(plan, scale, input_scale, synapses, du, dv, v_bias, vth, report, cfg.input_bits)
