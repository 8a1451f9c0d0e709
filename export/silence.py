"""Why a layer never fired: the parameter conventions of other libraries that NIR cannot express or
that leave a network silent once read with NIR's semantics, named from the NIR node's own values."""
from __future__ import annotations

import numpy as np


def _look(p: dict, dt: float) -> list[str]:
    out = []
    r, w_in = p.get("r"), p.get("w_in")
    if w_in is not None and abs(w_in - 1.0) < 1e-9 and "tau_syn" in p and p["tau_syn"] > 2 * dt:
        out.append(f"w_in = 1 with τ_syn = {p['tau_syn']:.3g} s: under NIR's CubaLIF each input adds only "
                   f"dt/τ_syn = {dt / p['tau_syn']:.3g} of itself to the current (exporters that write "
                   "exponential decays with w_in = 1, as Rockpool does, mean a jump of the whole input)")
    if r is not None and 0 < r < 1:
        out.append(f"r = {r:.3g} < 1, as if r held a decay factor β (NIR's r is a resistance; "
                   "snnTorch-style exports write r = τ/dt)")
    if r is not None and "tau_mem" in p and r > 1 and abs(r - p["tau_mem"] / dt) > 0.05 * r and w_in == 1.0:
        out.append(f"r = {r:.3g} is neither 1 nor τ_mem/dt = {p['tau_mem'] / dt:.3g}")
    return out


def silence_hints(plan, ref, streams) -> list[str]:
    """A sentence for each spiking population that never fired on ``streams`` under the reference,
    with the largest drive it can get in one step against its threshold, and what its parameters look
    like when they follow another library's convention."""
    out = []
    valid = np.asarray(streams.mask, bool)
    for name, pop in plan.populations.items():
        if not pop.spiking or name not in ref.spikes or np.asarray(ref.spikes[name], bool)[valid].any():
            continue
        drive = sum(np.clip(s.weight, 0, None).sum(axis=1) + np.clip(s.bias, 0, None) for s in plan.incoming(name))
        th = float(np.median(pop.vth))
        looks = _look(pop.source_params, plan.dt_s)
        line = (f"layer {name} never fired; the most one step can add to its current is {float(np.max(drive)):.3g} "
                f"(all positive weights at once) against a threshold of {th:.3g}")
        out.append(line + (f"; its parameters look like {'; '.join(looks)}" if looks else ""))
    return out
