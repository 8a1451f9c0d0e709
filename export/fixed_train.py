"""The state a fine-tuned branch runs from: export's quantiser, frozen, as plain numbers.

:func:`fixed_state` compiles a model's spiking branch as ``neuro-av export`` does (its NIR graph →
plan), quantises it with a frozen calibration (:func:`~neuro_av.export.lava.fixed_point.frozen_calibration`)
and keeps, per layer, what :class:`neuro_av.functional.loihi_fixed.FixedForward` needs: the scales,
exponents, gains and the neurons' integers. A fine-tuned checkpoint stores it (``fixed_point``), so
the run folder rebuilds the fixed-point model without this package; export quantises with the same
calibration and so writes the integers the model was trained with.
"""
from __future__ import annotations

import numpy as np

from neuro_av import naming
from neuro_av.export.lava.fixed_point import FixedPlan, quantise
from neuro_av.functional.loihi_fixed import FixedForward
from neuro_av.functional.loihi_formats import CURRENT_DECAY_OFFSET


def layer_state(fixed: FixedPlan, chain: str, i: int) -> dict:
    """Layer ``i`` of ``chain``: plain numbers and lists (a checkpoint can hold them)."""
    pop, syn = naming.neuron_node(chain, i), naming.synapse_node(chain, i)
    p, n, w = fixed.populations[pop], fixed.neurons[pop], fixed.weights[syn]
    s = next(x for x in fixed.synapses if x.name == syn)
    as_list = lambda a: np.asarray(a, np.float64).tolist()  # noqa: E731
    return {"pop": pop, "syn": syn, "graded": bool(s.graded), "streamed": bool(p.threshold_input),
            "scale": float(fixed.scale[pop]), "q_in": float(fixed.input_scale[s.src]) if s.graded else 1.0,
            "input_limit": float(fixed.input_limit), "weight_exp": int(w.weight_exp), "bias_exp": int(w.bias_exp),
            "gain": as_list(p.gain), "du": as_list(n.du + CURRENT_DECAY_OFFSET), "dv": as_list(n.dv),
            "v_bias": as_list(n.bias_mant * 2.0**n.bias_exp), "v_reset": as_list(n.v_reset),
            "v_init": as_list(n.v_init), "vth": as_list(n.vth)}


def fixed_state(model, frozen: dict) -> dict:
    """``{"calibration": frozen, "layers": {chain: [layer_state, ...]}}`` of ``model``'s spiking branch."""
    from neuro_av.export.compile import compile_graph
    from neuro_av.export.nir_graph import snn_to_nir

    branch = model.partition().snn
    cfg = model.cfg
    graph = snn_to_nir(branch, cfg.threshold_base, bool(getattr(cfg, "dynamic_threshold", False)))
    fixed = quantise(compile_graph(graph, float(branch.lif_params.dt_s)), frozen=frozen)
    return {"calibration": frozen,
            "layers": {c: [layer_state(fixed, c, i) for i in range(len(layers))] for c, layers in branch.chains.items()}}


def attach(model, frozen: dict) -> dict:
    """Make ``model``'s spiking branch run in fixed point with the ``frozen`` calibration; returns the
    state (what a fine-tuned checkpoint stores as ``fixed_point``)."""
    state = fixed_state(model, frozen)
    branch = model.partition().snn
    branch.fixed_point = FixedForward(state["layers"], branch.lif_params.surrogate_alpha)
    return state
