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

DECAY_BITS = 12
DECAY_UNITY = 2**DECAY_BITS  # a 12-bit decay of DECAY_UNITY empties the state in one step
CURRENT_DECAY_OFFSET = 1  # Loihi's ds_offset: du + 1 is the effective current decay
ACTIVATION_SHIFT = 6  # synaptic input is MSB-aligned by 6 bits
THRESHOLD_SHIFT = 6  # so is the threshold
STATE_BITS = 24  # u and v registers
WEIGHT_BITS = 8


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


def run_fixed(spikes_in: np.ndarray, layers: Sequence[LifLayer]) -> list[np.ndarray]:
    """Spikes [T, N_l] of every layer under Lava's bit-accurate ``fixed_pt`` models (weight_exp 0)."""
    max_state = 2 ** (STATE_BITS - 1)
    out, s = [], np.asarray(spikes_in).astype(np.int64)
    for layer in layers:
        x = _delayed_input(truncate_weights(layer.weights), s)
        u = np.zeros(x.shape[1], dtype=np.int64)
        v = np.zeros(x.shape[1], dtype=np.int64)
        vth = np.asarray(layer.vth).astype(np.int64) << THRESHOLD_SHIFT
        s = np.zeros_like(x)
        for t in range(x.shape[0]):
            u = _decay(u, int(layer.du) + CURRENT_DECAY_OFFSET) + (x[t] << ACTIVATION_SHIFT)
            u = np.where(u > max_state, u - 2 * max_state, u)
            u = np.where(u <= -max_state, u + 2 * max_state, u)
            v = np.clip(_decay(v, int(layer.dv)) + u + np.asarray(layer.bias).astype(np.int64), -max_state + 1, max_state - 1)
            s[t] = v > _threshold(vth, t)
            v[s[t] > 0] = 0
        out.append(s)
    return out
