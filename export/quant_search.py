"""Quantisation chosen by the spikes it gives: for graphs nobody can fine-tune (a foreign NIR file, a
Norse module without a loss), each population's scale and each synapse's weight exponent are picked
by the spike Dice (against the float reference) that torch-fixed gives on the calibration input.

The fixed rule (:func:`~neuro_av.export.lava.fixed_point.population_scales`,
:func:`~neuro_av.export.lava.fixed_point.quantise_weights`) maps each population's largest threshold
to 2^12 and each layer's largest weight to the top of the 8-bit mantissa. The search keeps the
chip's registers (17-bit threshold, 24-bit state, 8-bit mantissas) and tries, population by
population in the order a step computes them, the scales that put the largest threshold at 2^b for
b in :data:`THRESHOLD_BITS` (more bits: finer voltage steps, less head-room before the 24-bit state
wraps), then, synapse by synapse, one exponent lower (twice the weight resolution, the largest
weights clipped). A candidate is kept only when it raises the spike-weighted Dice over all layers;
ties keep the rule, so the result is never worse than the rule on the calibration input.
"""
from __future__ import annotations

import numpy as np

from neuro_av.export.fidelity import fidelity
from neuro_av.export.lava.fixed_point import FixedPlan, exponents_fit, frozen_calibration, quantise

THRESHOLD_BITS = (10, 11, 12, 13, 14, 15, 16)
SEARCH_CLIPS = 16  # the first clips of the calibration input the candidates are compared on


def _dice(plan, frozen: dict, streams: tuple, reference: dict) -> float:
    from neuro_av.export.torch_fixed import run_fixed_torch

    rec, _ = run_fixed_torch(quantise(plan, frozen=frozen), *streams)
    return fidelity(rec.spikes, reference, streams[2])["dice"]


def search(plan, rule: FixedPlan, streams: tuple, reference: dict) -> tuple[FixedPlan, dict]:
    """(the best fixed plan found, what was chosen and gained) starting from ``rule``'s choice;
    ``weight_exp_lowered``: steps below the exponent that fits a synapse's largest weight.
    ``streams``: (currents, thresholds, mask) of the calibration input; ``reference``: the float
    plan's spikes on it."""
    currents, thresholds, mask = streams
    if mask.shape[0] > SEARCH_CLIPS:  # the search runs torch-fixed once per candidate: a sample of the clips
        currents = {k: np.asarray(v)[:SEARCH_CLIPS] for k, v in currents.items()}
        thresholds = {k: (np.asarray(v)[:SEARCH_CLIPS] if np.ndim(v) == 3 and np.shape(v)[0] > 1 else v)
                      for k, v in thresholds.items()}
        reference = {k: np.asarray(v)[:SEARCH_CLIPS] for k, v in reference.items()}
        streams = (currents, thresholds, mask[:SEARCH_CLIPS])
    best = frozen_calibration(rule)
    rule_dice = best_dice = _dice(plan, best, streams, reference)
    tried = 1
    for p in plan.order():
        if not p.spiking or not reference:
            continue
        base = 2.0**rule.report["config"]["threshold_bits"]
        for bits in THRESHOLD_BITS:
            cand = {**best, "scale": {**best["scale"], p.name: rule.scale[p.name] * 2.0**bits / base}}
            exps = _exponents_for(plan, rule, cand, p.name)
            cand = {**cand, "weight_exp": {**cand["weight_exp"], **exps["weight_exp"]},
                    "bias_exp": {**cand["bias_exp"], **exps["bias_exp"]}}
            if cand["scale"] == best["scale"] or not exponents_fit(cand):  # beyond the chip's exponent register
                continue
            tried += 1
            d = _dice(plan, cand, streams, reference)
            if d > best_dice:
                best, best_dice = cand, d
    for s in plan.synapses:
        cand = {**best, "weight_exp": {**best["weight_exp"], s.name: best["weight_exp"][s.name] - 1}}
        if not exponents_fit(cand):
            continue
        tried += 1
        d = _dice(plan, cand, streams, reference)
        if d > best_dice:
            best, best_dice = cand, d
    fixed = quantise(plan, frozen=best)
    fixed.report["config"] = rule.report["config"]
    choice = {"rule_dice": rule_dice, "chosen_dice": best_dice, "gain": best_dice - rule_dice, "candidates": tried,
              "threshold_bits": {k: float(np.log2(best["scale"][k] / rule.scale[k] * 2.0**rule.report["config"]
                                                  ["threshold_bits"])) for k in best["scale"]
                                 if plan.populations[k].spiking},
              "weight_exp_lowered": {s.name: _exponents_for(plan, rule, best, s.dst)["weight_exp"][s.name]
                                     - best["weight_exp"][s.name] for s in plan.synapses},
              "on": f"the first {int(streams[2].shape[0])} clips of the calibration input (spike Dice of torch-fixed "
                    "against the float reference)"}
    fixed.report["search"] = choice
    return fixed, choice


def _exponents_for(plan, rule: FixedPlan, cand: dict, pop: str) -> dict:
    """The rule's exponents for the synapses into ``pop`` under the candidate scale (the weights scale
    with the population, so their exponents move with it)."""
    from neuro_av.export.lava.fixed_point import quantise_weights

    out = {"weight_exp": {}, "bias_exp": {}}
    for s in plan.incoming(pop):
        q_in = cand["input_scale"][s.src] if s.graded else 1.0
        out["weight_exp"][s.name] = quantise_weights(s.weight * cand["scale"][pop] / q_in)[1]
        out["bias_exp"][s.name] = quantise_weights(s.bias[:, None] * cand["scale"][pop])[1]
    return out
