"""The quantised-float rung of the fidelity ladder: the fixed-point plan's rounded weights, biases,
decays and thresholds, back in float units, run with float state (:mod:`neuro_av.export.reference`).

Between the float reference and torch-fixed it separates what rounding the *parameters* costs from
what the integer *state* (24-bit u and v, decays rounding toward zero, the 6-bit shifts) costs.
Streamed thresholds and graded inputs stay float (their quantisation happens per step, on the host).
"""
from __future__ import annotations

import dataclasses

import numpy as np

from neuro_av.export.lava.fixed_point import FixedPlan
from neuro_av.export.lava.oracle import CURRENT_DECAY_OFFSET, DECAY_UNITY, THRESHOLD_SHIFT
from neuro_av.export.plan import Plan


def dequantised_plan(fixed: FixedPlan) -> Plan:
    """``fixed``'s float plan with every parameter replaced by the value its integers stand for."""
    plan = fixed.plan
    pops = {}
    for name, p in plan.populations.items():
        n, state = fixed.neurons[name], fixed.scale[name] * 2**THRESHOLD_SHIFT
        vth = n.vth / fixed.scale[name] if p.spiking else p.vth
        pops[name] = dataclasses.replace(
            p, du=(n.du + CURRENT_DECAY_OFFSET) / DECAY_UNITY, dv=n.dv / DECAY_UNITY,
            v_bias=n.bias_mant * 2.0**n.bias_exp / state, vth=np.asarray(vth, np.float64),
            v_reset=n.v_reset / state, v_init=n.v_init / state)
    syns = []
    for s in plan.synapses:
        q, scale = fixed.weights[s.name], fixed.scale[s.dst]
        q_in = fixed.input_scale[s.src] if s.graded else 1.0
        syns.append(dataclasses.replace(s, weight=q.weight * 2.0**q.weight_exp * q_in / scale,
                                        bias=q.bias * 2.0**q.bias_exp / scale))
    return dataclasses.replace(plan, populations=pops, synapses=syns)
