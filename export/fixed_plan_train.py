"""Any compiled plan in Loihi's fixed point, differentiably — what :func:`finetune_module` trains.

The general form of :mod:`neuro_av.functional.loihi_fixed` (which serves a run's chains): every synapse
of a :class:`~neuro_av.export.plan.Plan` holds its float weight and bias (plan units, the neuron's
gain folded in) as parameters; a frozen calibration fixes scales and exponents; the forward computes
the integers ``quantise(plan, frozen=...)`` would hold and runs them with torch-fixed's arithmetic,
step by step and population by population (recurrent synapses carry the previous step), with
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
        u = {p.name: torch.zeros(batch, p.size, dtype=torch.float64) for p in order}
        v = {p.name: self._neurons[p.name]["v_init"].expand(batch, p.size) for p in order}
        out: dict[str, list] = {p.name: [] for p in order}
        for t in range(steps):
            live = on[:, t, None]
            for p in order:
                n = self._neurons[p.name]
                a = torch.zeros(batch, p.size, dtype=torch.float64)
                for s in self.plan.incoming(p.name):
                    w, b = mant[s.name]
                    if s.graded:
                        acc = _wrap(enc[s.src][:, t] @ w.T, 32)
                    elif not s.recurrent:
                        acc = out[s.src][t] @ w.T
                    else:
                        acc = out[s.src][t - 1] @ w.T if t > 0 else torch.zeros_like(a)
                    a = a + _shift(acc, int(self.frozen["weight_exp"][s.name])) + \
                        live * _shift(b, int(self.frozen["bias_exp"][s.name]))
                u[p.name], _, v_new, _ = state_step(u[p.name], v[p.name], _wrap(a, 32), n["du"], n["dv"], n["bias"])
                if p.spiking:
                    th = torch.where(live > 0, n["vth"], torch.full_like(n["vth"], SILENT_FIXED * 2.0**THRESHOLD_SHIFT))
                    s_t = SuperSpike.apply((v_new - th) / (2.0**THRESHOLD_SHIFT * float(self.fixed.scale[p.name])),
                                           self.alpha)
                    v[p.name] = v_new + s_t * (n["v_reset"] - v_new)
                    out[p.name].append(s_t)
                else:
                    v[p.name] = v_new
                    out[p.name].append(v_new / (2.0**THRESHOLD_SHIFT * float(self.fixed.scale[p.name])))
        return {k: torch.stack(x, dim=1) for k, x in out.items()}
