"""Histograms of what rounding to fixed point does to each synapse's weights (for reports).

Two distributions over the synapse's non-zero float weights (a conv layer's composed matrix is
mostly structural zeros, which rounding leaves alone), both in units of the *step*, the spacing of
the weights the chip can hold (two mantissa units: Lava keeps mantissas even):

- ``magnitude``: |w| / step on octave bins (``edges`` are the lower edges, the last bin has no upper
  one); below ½ step a weight rounds to zero, above the largest mantissa it clips;
- ``error``: (deployed − w) / step on 20 bins over [−½, ½]; rounding alone stays inside, clipping
  falls in ``below`` / ``above``.
"""
from __future__ import annotations

import numpy as np

ERROR_BINS = 20
TIE = 1e-9
MAGNITUDE_EDGES = [0.0, *(2.0 ** k for k in range(-4, 9))]  # octaves of the step, 1/16 … 256; a last bin ≥ 256


def weight_histograms(exact: np.ndarray, deployed: np.ndarray, step: float, step_in_weight_units: float) -> dict:
    """``exact`` / ``deployed``: the weights in the chip's units (before and after rounding);
    ``step``: the spacing of deployable weights in those units; ``step_in_weight_units``: the same
    spacing in the float model's weight units (for labels)."""
    exact, deployed = np.asarray(exact, np.float64).ravel(), np.asarray(deployed, np.float64).ravel()
    keep = exact != 0
    err = (deployed[keep] - exact[keep]) / step
    edges = np.linspace(-0.5, 0.5, ERROR_BINS + 1)
    below, above = err < -0.5 - TIE, err > 0.5 + TIE  # clipped (a tie of rounding is ±½ up to float error)
    inside = np.histogram(np.clip(err[~below & ~above], -0.5, 0.5), edges)[0]
    magnitude = np.histogram(np.abs(exact[keep]) / step, [*MAGNITUDE_EDGES, np.inf])[0]
    return {"values": int(keep.sum()), "step": float(step_in_weight_units),
            "rounded_to_zero": int((keep & (deployed == 0)).sum()),
            "error": {"edges": np.round(edges, 6).tolist(), "counts": inside.astype(int).tolist(),
                      "below": int(below.sum()), "above": int(above.sum())},
            "magnitude": {"edges": MAGNITUDE_EDGES, "counts": magnitude.astype(int).tolist()}}
