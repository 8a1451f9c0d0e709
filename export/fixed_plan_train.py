"""Any compiled plan in Loihi's fixed point, differentiably — what :func:`finetune_module` trains.

The general form of :mod:`neuro_av.functional.loihi_fixed` (which serves a run's chains): every synapse
of a :class:`~neuro_av.export.plan.Plan` holds its float weight and bias (plan units, the neuron's
gain folded in) as parameters; a frozen calibration fixes scales and exponents; the forward computes
the integers ``quantise(plan, frozen=...)`` would hold and runs them with torch-fixed's arithmetic (in
torch-fixed's order of work: population by population where recurrence is only self-recurrence, else
step by step; recurrent synapses carry the previous step), with
straight-through gradients and a surrogate at the threshold. Spiking populations return spikes,
read-outs their voltages in float units (``v_int / (2^6 · scale)``, as torch-fixed decodes them).
"""
from __future__ import annotations

import numpy as np
import torch

from neuro_av.functional.loihi_fixed import MAX_WEIGHT_MANTISSA, _round, _shift, _wrap, mantissas, state_step
from neuro_av.export.lava.fixed_point import SILENT_FIXED, quantise
from neuro_av.export.lava.oracle import CURRENT_DECAY_OFFSET, THRESHOLD_SHIFT
from neuro_av.functional.lif import SuperSpike


def _key(name: str) -> str:
    return name.replace(".", "__")  # ParameterDict keys cannot hold dots


class FixedPlanModule(torch.nn.Module):
    """``forward(currents) -> {population: (B, T, N)}`` of ``plan`` in fixed point (see the module doc)."""

    def __init__(self, plan, frozen: dict, surrogate_alpha: float = 100.0):
        super().__init__()
        if any(p.threshold_input for p in plan.populations.values()):
            raise ValueError("a plan with streamed thresholds is fine-tuned through its run (`neuro-av finetune`)")
        self.plan, self.frozen, self.alpha = plan, frozen, float(surrogate_alpha)
        self.fixed = quantise(plan, frozen=frozen)
        self.weight = torch.nn.ParameterDict({_key(s.name): torch.nn.Parameter(torch.as_tensor(s.weight, dtype=torch.float64))
                                              for s in plan.synapses})
        self.bias = torch.nn.ParameterDict({_key(s.name): torch.nn.Parameter(torch.as_tensor(s.bias, dtype=torch.float64))
                                            for s in plan.synapses})
        as_t = lambda a: torch.as_tensor(np.asarray(a, np.float64))  # noqa: E731
        self._neurons = {k: {"du": as_t(n.du + CURRENT_DECAY_OFFSET), "dv": as_t(n.dv),
                             "bias": as_t(n.bias_mant * 2.0**n.bias_exp), "v_reset": as_t(n.v_reset),
                             "v_init": as_t(n.v_init), "vth": as_t(n.vth) * 2.0**THRESHOLD_SHIFT}
                         for k, n in self.fixed.neurons.items()}

    def integers(self, syn) -> tuple[torch.Tensor, torch.Tensor]:
        """The synapse's weight and bias mantissas from its live float parameters."""
        scale = float(self.fixed.scale[syn.dst])
        q_in = float(self.fixed.input_scale[syn.src]) if syn.graded else 1.0
        w, _ = mantissas(self.weight[_key(syn.name)] * scale / q_in, int(self.frozen["weight_exp"][syn.name]))
        b, _ = mantissas(self.bias[_key(syn.name)] * scale, int(self.frozen["bias_exp"][syn.name]))
        return w, b

    def clamp_weights(self) -> None:
        """Every weight inside its frozen exponent's mantissa range (no weight clips on chip)."""
        with torch.no_grad():
            for s in self.plan.synapses:
                scale = float(self.fixed.scale[s.dst])
                q_in = float(self.fixed.input_scale[s.src]) if s.graded else 1.0
                bound = MAX_WEIGHT_MANTISSA * 2.0 ** self.frozen["weight_exp"][s.name] * q_in / scale
                self.weight[_key(s.name)].clamp_(-bound, bound)

    def snap(self) -> None:
        """Float parameters onto the grid of the integers they quantise to (the integers stay)."""
        with torch.no_grad():
            for s in self.plan.synapses:
                w, b = self.integers(s)
                scale = float(self.fixed.scale[s.dst])
                q_in = float(self.fixed.input_scale[s.src]) if s.graded else 1.0
                self.weight[_key(s.name)].copy_(w * 2.0 ** self.frozen["weight_exp"][s.name] * q_in / scale)
                self.bias[_key(s.name)].copy_(b * 2.0 ** self.frozen["bias_exp"][s.name] / scale)

    def forward(self, currents: dict, mask: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        first = next(iter(currents.values()))
        batch, steps = first.shape[:2]
        on = torch.ones(batch, steps, dtype=torch.float64) if mask is None else mask.to(torch.float64)
        limit = float(self.fixed.input_limit)
        enc = {k: torch.clamp(_round(torch.as_tensor(x).double() * on[:, :, None] * float(self.fixed.input_scale[k])),
                              -limit, limit) for k, x in currents.items()}
        order = self.plan.order()
        mant = {s.name: self.integers(s) for s in self.plan.synapses}
        incoming = {p.name: self.plan.incoming(p.name) for p in order}
        if all(s.src == s.dst for s in self.plan.synapses if s.recurrent):
            # populations one after another: each feed-forward synapse's drive for every step in one product
            res = {}
            for p in order:
                drive = torch.zeros(batch, steps, p.size, dtype=torch.float64)
                for s in incoming[p.name]:
                    if not s.recurrent:
                        drive = drive + self._drive(s, mant, enc[s.src] if s.graded else res[s.src], on[:, :, None])
                state = self._start(p, batch)
                for t in range(steps):
                    live = on[:, t, None]
                    a = drive[:, t]
                    for s in incoming[p.name]:
                        if s.recurrent:
                            a = a + self._recurrent(s, mant, state["out"], t, live)
                    self._step(p, state, a, live)
                res[p.name] = torch.stack(state["out"], dim=1)
            return res
        states = {p.name: self._start(p, batch) for p in order}  # recurrence between populations
        for t in range(steps):
            live = on[:, t, None]
            for p in order:
                a = torch.zeros(batch, p.size, dtype=torch.float64)
                for s in incoming[p.name]:
                    if s.recurrent:
                        a = a + self._recurrent(s, mant, states[s.src]["out"], t, live)
                    else:
                        a = a + self._drive(s, mant, enc[s.src][:, t] if s.graded else states[s.src]["out"][t], live)
                self._step(p, states[p.name], a, live)
        return {k: torch.stack(st["out"], dim=1) for k, st in states.items()}

    def _drive(self, s, mant: dict, src: torch.Tensor, live: torch.Tensor) -> torch.Tensor:
        """Synapse ``s``'s shifted products (int32-wrapped for graded host input) plus its shifted bias."""
        w, b = mant[s.name]
        acc = src @ w.T
        if s.graded:
            acc = _wrap(acc, 32)
        return _shift(acc, int(self.frozen["weight_exp"][s.name])) + live * _shift(b, int(self.frozen["bias_exp"][s.name]))

    def _recurrent(self, s, mant: dict, src_out: list, t: int, live: torch.Tensor) -> torch.Tensor:
        """A recurrent synapse carries its source's previous step (only its bias at step 0)."""
        if t > 0:
            return self._drive(s, mant, src_out[t - 1], live)
        return live * _shift(mant[s.name][1], int(self.frozen["bias_exp"][s.name]))

    def _start(self, p, batch: int) -> dict:
        return {"u": torch.zeros(batch, p.size, dtype=torch.float64),
                "v": self._neurons[p.name]["v_init"].expand(batch, p.size), "out": []}

    def _step(self, p, state: dict, a: torch.Tensor, live: torch.Tensor) -> None:
        """One compartment step of population ``p``: spikes (surrogate) or the read-out's voltage appended."""
        n = self._neurons[p.name]
        state["u"], _, v_new, _ = state_step(state["u"], state["v"], _wrap(a, 32), n["du"], n["dv"], n["bias"])
        units = 2.0**THRESHOLD_SHIFT * float(self.fixed.scale[p.name])
        if p.spiking:
            th = torch.where(live > 0, n["vth"], torch.full_like(n["vth"], SILENT_FIXED * 2.0**THRESHOLD_SHIFT))
            s_t = SuperSpike.apply((v_new - th) / units, self.alpha)
            state["v"] = v_new + s_t * (n["v_reset"] - v_new)
            state["out"].append(s_t)
        else:
            state["v"] = v_new
            state["out"].append(v_new / units)
