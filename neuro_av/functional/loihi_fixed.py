"""A spiking branch run in Loihi's fixed-point arithmetic, differentiably: what fine-tuning trains.

:class:`FixedForward` computes, from the branch's live float weights and a *frozen* calibration
(every population's scale, every input's scale, every synapse's exponents, and the neurons'
integers, as :func:`neuro_av.export.fixed_train.fixed_state` derives them from ``neuro-av
export``'s quantiser), the integers export would write for those weights, and runs them with exactly
the arithmetic of ``torch-fixed`` (:mod:`neuro_av.export.torch_fixed`) and Lava's ``fixed_pt``
models: 8-bit even mantissas, shifts, 12-bit decays rounding toward zero, the 24-bit current wrap
and voltage saturation, the 17-bit threshold register, the host's 8-bit input payload. So its spikes
*are* the deployed network's. It lives here, below the run folder, because a fine-tuned checkpoint
rebuilds its model with it; the state it is built from is plain numbers (a checkpoint's).

Values are integers held in float64 tensors (exact: every product and sum stays far below 2^53).
Gradients pass straight through the roundings, shifts, wraps and decays (the straight-through
estimator), are cut where a value clips (weights beyond the mantissa range, inputs beyond the
payload, thresholds beyond the register, a saturated voltage), and reach the spike through the
branch's surrogate, on the voltage in float units ``(v − θ·2^6) / (2^6 · scale)`` — the float
model's ``v − θ``, so the surrogate's width means what it means in training.

Weight mantissas are computed op for op as :func:`~neuro_av.export.lava.fixed_point.quantise`
computes them from the float plan (``gain · W · scale / q_in / 2^e``, round half to even), so the
export of a fine-tuned checkpoint holds the same integers (tested); :func:`snap_weights` moves the
float weights onto those integers' grid, so no rounding of the export can land elsewhere.
"""
from __future__ import annotations

import numpy as np
import torch

from neuro_av.functional.lif import SuperSpike
from neuro_av.functional.loihi_formats import (
    ACTIVATION_SHIFT,
    CURRENT_DECAY_OFFSET,
    DECAY_BITS,
    DECAY_UNITY,
    MAX_WEIGHT_MANTISSA,
    SILENT_FIXED,
    STATE_BITS,
    THRESHOLD_PRECISION_BITS,
    THRESHOLD_SHIFT,
)

MAX_UV = 2.0 ** (STATE_BITS - 1)
THRESHOLD_MAX = 2.0**THRESHOLD_PRECISION_BITS - 1
COUNTS = ("u_wraps", "v_saturations", "weights_clipped", "inputs_clipped", "thresholds_clipped", "neuron_steps")


class _Straight(torch.autograd.Function):
    """``fn(x)`` forward, identity backward."""

    @staticmethod
    def forward(ctx, x, fn):
        return fn(x)

    @staticmethod
    def backward(ctx, grad):
        return grad, None


def _round(x):  # half to even, as np.rint
    return _Straight.apply(x, torch.round)


def _floor(x):
    return _Straight.apply(x, torch.floor)


def _trunc(x):
    return _Straight.apply(x, torch.trunc)


def _jump(x: torch.Tensor, exact: torch.Tensor) -> torch.Tensor:
    """``exact``'s value with ``x``'s gradient (both integer-valued, so the sum is exact)."""
    return x + (exact - x).detach()


def _wrap(x: torch.Tensor, bits: int) -> torch.Tensor:
    half = 2.0 ** (bits - 1)
    return _jump(x, torch.remainder(x.detach() + half, 2 * half) - half)


def _shift(x: torch.Tensor, exp: int) -> torch.Tensor:
    return x * 2.0**exp if exp >= 0 else _floor(x / 2.0 ** (-exp))  # an arithmetic right shift floors


def _decay(x: torch.Tensor, decay: torch.Tensor) -> torch.Tensor:
    return _trunc(x * (DECAY_UNITY - decay) / 2.0**DECAY_BITS)  # sign(p)·(|p| >> 12)


def state_step(u, v, drive, du, dv, v_bias):
    """One step of a compartment (torch-fixed's arithmetic): ``(u, raw_u, v, raw_v)`` — the current
    after its 24-bit wrap and the voltage after saturation, each beside its value before them."""
    raw_u = _wrap(_decay(u, du) + drive * 2.0**ACTIVATION_SHIFT, 32)
    exact = torch.where(raw_u.detach() > MAX_UV, raw_u.detach() - 2 * MAX_UV, raw_u.detach())
    exact = torch.where(exact <= -MAX_UV, raw_u.detach() + 2 * MAX_UV, exact)
    u = _jump(raw_u, exact)
    raw_v = _decay(v, dv) + u + v_bias
    return u, raw_u, torch.clamp(raw_v, -MAX_UV + 1, MAX_UV - 1), raw_v


def mantissas(values: torch.Tensor, exp: int) -> tuple[torch.Tensor, int]:
    """Even 8-bit mantissas of ``values`` (already ``W_plan · scale / q_in``) at exponent ``exp``, and
    how many clipped: :func:`neuro_av.export.lava.fixed_point.quantise_weights` with a given exponent."""
    m = 2 * _round(values / 2.0**exp / 2)
    clipped = int((m.detach().abs() > MAX_WEIGHT_MANTISSA).sum())
    return torch.clamp(m, -MAX_WEIGHT_MANTISSA, MAX_WEIGHT_MANTISSA), clipped


class _Layer:
    """One Linear → LIF layer's frozen integers and factors (:func:`neuro_av.export.fixed_train.layer_state`),
    as float64 tensors on one device."""

    def __init__(self, state: dict, device):
        as_t = lambda a: torch.as_tensor(np.asarray(a, np.float64), device=device)  # noqa: E731
        self.pop, self.syn, self.graded, self.streamed = state["pop"], state["syn"], state["graded"], state["streamed"]
        self.scale, self.q_in, self.input_limit = float(state["scale"]), float(state["q_in"]), float(state["input_limit"])
        self.weight_exp, self.bias_exp = int(state["weight_exp"]), int(state["bias_exp"])
        self.gain = as_t(state["gain"])
        self.du, self.dv, self.v_bias = as_t(state["du"]), as_t(state["dv"]), as_t(state["v_bias"])
        self.v_reset, self.v_init, self.vth = as_t(state["v_reset"]), as_t(state["v_init"]), as_t(state["vth"])

    def weights(self, linear: torch.nn.Linear) -> tuple[torch.Tensor, torch.Tensor, int]:
        """(mantissas (N, N_in), bias mantissas (N,), weights clipped) from the live float weights."""
        w_exact = self.gain[:, None] * linear.weight.double() * self.scale / self.q_in
        w, clipped = mantissas(w_exact, self.weight_exp)
        b, _ = mantissas(self.gain * linear.bias.double() * self.scale, self.bias_exp)
        return w, b, clipped

    def weight_bounds(self) -> torch.Tensor:
        """(N, 1): the largest |W| of each row whose mantissa does not clip."""
        return (MAX_WEIGHT_MANTISSA * 2.0**self.weight_exp * self.q_in / (self.gain * self.scale))[:, None]


class FixedForward:
    """``forward(branch, SnnInput) -> {chain: [spikes]}`` in fixed point from ``state`` (chain -> per layer the
    plain numbers of :func:`neuro_av.export.fixed_train.layer_state`); ``counts`` holds the last call's
    (and, summed, every call's since :meth:`reset_counts`) wraps, saturations and clips."""

    def __init__(self, state: dict[str, list[dict]], surrogate_alpha: float):
        self.state, self.alpha = state, float(surrogate_alpha)
        self._layers: dict = {}
        self._penalty: torch.Tensor | float = 0.0
        self.margin = 0.1  # the fraction of the 24-bit range the penalty keeps free
        self.reset_counts()

    def reset_counts(self) -> None:
        self.counts = {k: 0 for k in COUNTS}

    def take_penalty(self) -> torch.Tensor | float:
        """The head-room penalty accumulated by the forwards with gradients since the last call:
        per layer, the mean of ``relu(|u| / 2^23 − 1 + margin)`` (the current nears its 24-bit wrap),
        ``relu(|v| / 2^23 − 1 + margin)`` (the voltage nears saturation) and ``relu(θ·scale / (2^17 − 1)
        − 1)`` (a streamed threshold beyond its register), on the values before they wrap or clip."""
        out, self._penalty = self._penalty, 0.0
        return out

    def layers(self, chain: str, device) -> list[_Layer]:
        key = (chain, str(device))
        if key not in self._layers:
            self._layers[key] = [_Layer(layer, device) for layer in self.state[chain]]
        return self._layers[key]

    def __call__(self, branch, x) -> dict[str, list[torch.Tensor]]:
        """Spikes (B, T, N) per chain and layer of ``branch`` on ``x`` (an ``SnnInput``)."""
        spikes = {}
        for chain, linears in branch.chains.items():
            current = x.current[chain]
            on = x.mask.to(device=current.device, dtype=torch.float64)  # (B, T)
            h, out = None, []
            for i, (linear, layer) in enumerate(zip(linears, self.layers(chain, current.device))):
                h = self._layer(linear, layer, current if i == 0 else h, x.thresholds[chain][i], on)
                out.append(h.to(current.dtype))
            spikes[chain] = out
        return spikes

    def _add_penalty(self, values: torch.Tensor) -> None:
        if torch.is_grad_enabled() and values.requires_grad:
            self._penalty = self._penalty + values.mean()

    def _layer(self, linear, layer: _Layer, inp: torch.Tensor, theta, on: torch.Tensor) -> torch.Tensor:
        w, b, clipped = layer.weights(linear)
        valid = on[:, :, None]
        c = self.counts
        c["weights_clipped"] += clipped
        if layer.graded:  # the host's payload: round(x · q_in), clipped to the signed input bits
            raw = _round(inp.double() * valid * layer.q_in)
            c["inputs_clipped"] += int(((raw.detach().abs() > layer.input_limit) & (valid > 0)).sum())
            acc = _wrap(torch.clamp(raw, -layer.input_limit, layer.input_limit) @ w.T, 32)
        else:
            acc = inp @ w.T
        drive = _wrap(_shift(acc, layer.weight_exp) + valid * _shift(b, layer.bias_exp), 32)  # (B, T, N)
        batch, steps, n = drive.shape
        if layer.streamed:
            th = torch.as_tensor(theta, device=drive.device).double().expand(batch, steps, n)
            raw_th = _round(th * layer.scale)
            c["thresholds_clipped"] += int((((raw_th.detach() < 0) | (raw_th.detach() > THRESHOLD_MAX)) & (valid > 0)).sum())
            self._add_penalty(torch.relu(raw_th / THRESHOLD_MAX - 1))
            th = torch.clamp(raw_th, 0, THRESHOLD_MAX)
        else:
            th = layer.vth.expand(batch, steps, n)
        th = torch.where(valid > 0, th, torch.full_like(th, SILENT_FIXED)) * 2.0**THRESHOLD_SHIFT
        u = torch.zeros((batch, n), dtype=torch.float64, device=drive.device)
        v = layer.v_init.expand(batch, n)
        out, wraps, sats, near = [], 0, 0, []
        for t in range(steps):
            u, raw_u, v_new, raw_v = state_step(u, v, drive[:, t], layer.du, layer.dv, layer.v_bias)
            if torch.is_grad_enabled():
                near += [torch.relu(raw_u.abs() / MAX_UV - 1 + self.margin).mean(),
                         torch.relu(raw_v.abs() / MAX_UV - 1 + self.margin).mean()]
            live = on[:, t, None] > 0
            wraps += int(((u.detach() != raw_u.detach()) & live).sum())
            sats += int(((v_new.detach() != raw_v.detach()) & live).sum())
            s = SuperSpike.apply((v_new - th[:, t]) / (2.0**THRESHOLD_SHIFT * layer.scale), self.alpha)
            v = v_new + s * (layer.v_reset - v_new)
            out.append(s)
        if near:
            self._add_penalty(torch.stack(near))
        c["u_wraps"] += wraps
        c["v_saturations"] += sats
        c["neuron_steps"] += int(on.sum()) * n
        return torch.stack(out, dim=1)


def clamp_weights(branch) -> None:
    """Keep every weight within its frozen exponent's mantissa range (no weight clips on chip)."""
    forward = branch.fixed_point
    with torch.no_grad():
        for chain, linears in branch.chains.items():
            for linear, layer in zip(linears, forward.layers(chain, linears[0].weight.device)):
                bound = layer.weight_bounds().to(linear.weight.dtype)
                linear.weight.copy_(torch.maximum(torch.minimum(linear.weight, bound), -bound))


def snap_weights(branch) -> None:
    """Float weights (and biases) moved onto the grid of the integers they quantise to, so that the
    export's rounding cannot fall on the other side of a half (the integers do not change)."""
    forward = branch.fixed_point
    with torch.no_grad():
        for chain, linears in branch.chains.items():
            for linear, layer in zip(linears, forward.layers(chain, linears[0].weight.device)):
                w, b, _ = layer.weights(linear)
                w_float = w * 2.0**layer.weight_exp * layer.q_in / (layer.scale * layer.gain[:, None])
                b_float = b * 2.0**layer.bias_exp / (layer.scale * layer.gain)
                linear.weight.copy_(w_float.to(linear.weight.dtype))
                linear.bias.copy_(b_float.to(linear.bias.dtype))
