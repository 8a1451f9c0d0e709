"""Current-based LIF with a threshold that may change every step, on Norse's LIF equations.

Per step (the order of Norse's ``lif_feed_forward_step``, forward Euler with step ``dt_s``)::

    i' = i + x_t                                   input current jump
    v' = v + dt/τ_mem · (v_leak − v + i')          membrane update
    i  ← i' · (1 − dt/τ_syn)                       synaptic decay
    s_t = H(v' − θ_t)                              spike (v' > θ_t), surrogate gradient
    v  ← (1 − s_t) v' + s_t v_reset                reset

``θ_t`` is a tensor broadcast against [B, N] and may differ every step; the surrogate passes
gradients to whatever produced it (``∂s/∂θ = −∂s/∂v``). Units: times in seconds, potentials in
the model's dimensionless units. State is kept across the steps of a clip and starts from zero for
every clip (:func:`zero_state`).

Surrogates: ``"superspike"`` (default; SuperSpike with α = 100 is what both spiking seeds train with): ``∂H/∂x ≈ 1 / (α|x| + 1)²`` with α =
``surrogate_alpha``. ``"norse"`` calls Norse 1.1.0's ``lif_feed_forward_step`` with its "super"
method as is — whose SuperSpike ignores α (its backward is ``1 / (|x| + 1)²``), which is why the
default does not route through it. The default path applies the coefficients dt/τ in the input's
dtype from double-precision values; Norse 1.1.0 holds 1/τ as a float32 tensor, so even its float64
runs use dt/τ rounded to float32. The two paths agree to ~1e-8 relative (tested).
"""
from __future__ import annotations

from typing import NamedTuple

import torch
from norse.torch.functional.lif import (
    LIFFeedForwardState,
    LIFParameters,
    lif_feed_forward_step,
)

from neuro_av.errors import ConfigError

SURROGATES = ("superspike", "norse")


class LIFStepParams(NamedTuple):
    tau_syn_s: float = 5e-3
    tau_mem_s: float = 1e-2
    v_leak: float = 0.0
    v_reset: float = 0.0
    dt_s: float = 1e-3
    surrogate: str = "superspike"
    surrogate_alpha: float = 100.0


class SuperSpike(torch.autograd.Function):
    """Heaviside forward (x > 0); backward 1 / (α|x| + 1)² (Zenke & Ganguli 2018)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, alpha: float) -> torch.Tensor:
        ctx.save_for_backward(x)
        ctx.alpha = alpha
        return (x > 0).to(x.dtype)

    @staticmethod
    def backward(ctx, grad_out):
        (x,) = ctx.saved_tensors
        return grad_out / (ctx.alpha * x.abs() + 1.0).pow(2), None


def zero_state(like: torch.Tensor) -> LIFFeedForwardState:
    """Zero membrane and current shaped like one step of input [B, N]."""
    return LIFFeedForwardState(v=torch.zeros_like(like), i=torch.zeros_like(like))


def dt_lif_step(x: torch.Tensor, state: LIFFeedForwardState, threshold: torch.Tensor | float,
                p: LIFStepParams = LIFStepParams()) -> tuple[torch.Tensor, LIFFeedForwardState]:
    """One step: input current ``x`` [B, N], threshold broadcastable to [B, N]; returns (spikes, state)."""
    if p.surrogate == "norse":
        norse_p = LIFParameters(
            tau_syn_inv=torch.as_tensor(1.0 / p.tau_syn_s), tau_mem_inv=torch.as_tensor(1.0 / p.tau_mem_s),
            v_leak=torch.as_tensor(p.v_leak), v_th=torch.as_tensor(threshold, dtype=x.dtype),
            v_reset=torch.as_tensor(p.v_reset), method="super", alpha=torch.as_tensor(p.surrogate_alpha))
        return lif_feed_forward_step(x, state, norse_p, dt=p.dt_s)
    if p.surrogate != "superspike":
        raise ConfigError(f"surrogate {p.surrogate!r} is not one of {SURROGATES}")
    i_jump = state.i + x
    v_decayed = state.v + p.dt_s / p.tau_mem_s * ((p.v_leak - state.v) + i_jump)
    i_decayed = i_jump - p.dt_s / p.tau_syn_s * i_jump
    z = SuperSpike.apply(v_decayed - threshold, p.surrogate_alpha)
    v_new = (1 - z) * v_decayed + z * p.v_reset
    return z, LIFFeedForwardState(v=v_new, i=i_decayed)
