"""EGM (event generative model, MDFT eq. 4–5) on feature sequences.

An ideal event sensor fires at position u when the log intensity has changed by at least the
contrast threshold C since that position's last event, with polarity ``sign(ΔL)``; the reference
is reset to the current log intensity where an event fires::

    L_t = log(ε + |x_t|)                           (reconstruction: features are not intensities)
    ΔL  = L_t − L_ref;   e_t = sign(ΔL) · [|ΔL| ≥ C];   L_ref ← L_t where e_t ≠ 0

``L_ref`` starts at ``L_0`` and ``e_0 = 0``. Output has the shape of the input; positions without
events are 0 (the seed: "all positions without triggered events are filled with 0").
Non-differentiable by design: it is a fixed sensor model in front of the SNN.
"""
from __future__ import annotations

import torch


def log_intensity(x: torch.Tensor, eps: float = 1e-3) -> torch.Tensor:
    return torch.log(eps + x.abs())


def egm_step(log_i: torch.Tensor, ref: torch.Tensor, contrast: float) -> tuple[torch.Tensor, torch.Tensor]:
    """One step: events in {-1, 0, 1} and the new reference."""
    delta = log_i - ref
    fired = delta.abs() >= contrast
    events = torch.sign(delta) * fired
    return events, torch.where(fired, log_i, ref)


def egm(x: torch.Tensor, contrast: float = 0.2, eps: float = 1e-3, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Events of a feature sequence ``x`` [B, T, D] (padded steps, where ``mask`` is False, give none)."""
    with torch.no_grad():
        log_i = log_intensity(x, eps)
        ref = log_i[:, 0]
        out = [torch.zeros_like(ref)]
        for t in range(1, x.shape[1]):
            events, new_ref = egm_step(log_i[:, t], ref, contrast)
            if mask is not None:
                valid = mask[:, t, None]
                events = events * valid
                new_ref = torch.where(valid, new_ref, ref)
            out.append(events)
            ref = new_ref
        return torch.stack(out, dim=1)
