"""Quantise a :class:`LavaPlan` for Lava's bit-accurate ``fixed_pt`` (Loihi) models, and say what
did not fit.

Units: in population p, one float unit of voltage becomes ``scale[p]`` integer units of threshold
(Lava compares ``v > vth << 6`` and adds ``a_in << 6`` to u), so with s = ``scale[p]``:

- thresholds ``vth = round(θ·s)`` in Lava's 17-bit register (static, and every step of a streamed
  threshold);
- each Dense into p stores 8-bit mantissas and one exponent per layer: ``w_int·2^e ≈ W·s / q_in``, where
  ``q_in`` is 1 for spikes and the input scale for graded inputs (``x_int = round(x·q_in)``, a signed
  ``input_bits`` payload); the bias column has its own exponent;
- decays are 12-bit, per neuron: ``du = round(β·4096) − 1`` (Loihi adds ``ds_offset`` = 1),
  ``dv = round(α·4096)``;
- the voltage bias is a 13-bit mantissa with a per-population exponent chosen so the largest bias
  fits: ``bias_mant << bias_exp ≈ α·v_leak·s·2^6``; reset and initial voltages are in the same
  24-bit state units.

Spikes are binary whatever the scale of the population that sends them, so each population has a
scale of its own: the one that maps its largest threshold (static, or its stream's largest value on
the calibration clips) to ``2^threshold_bits``, leaving the rest of the 17-bit threshold and 24-bit
state as head-room; for a read-out (no threshold), the one that puts its largest voltage on the
calibration clips (``readout_peak``) at 1/``READOUT_HEADROOM`` of the 24-bit state.

Every exponent stays in Loihi's weight-exponent register (``WEIGHT_EXP_MIN`` … ``WEIGHT_EXP_MAX``):
weights too small for the smallest take it (fewer mantissa bits; warned of when rounding takes most
of them); a population whose incoming weights are too large for the largest gets a scale lowered by
the powers of two they need (down to ``MIN_THRESHOLD_BITS`` for its threshold), and beyond that the
network is refused, naming the synapse, the exponent and the value that drove it (e.g. an input of
1e300), never shifted by an exponent the chip cannot hold. The report lists each layer's quantisation error (the worst neuron's, for decays) and
every value that had to be clipped; :func:`host_clips` counts what the host clips at run time, and
the oracle (:func:`neuro_av.export.lava.oracle.run_fixed_plan`) what wraps or saturates on chip.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from neuro_av.export.lava.oracle import (
    ACTIVATION_SHIFT,
    CURRENT_DECAY_OFFSET,
    DECAY_UNITY,
    STATE_BITS,
    THRESHOLD_SHIFT,
    WEIGHT_BITS,
)
from neuro_av.export.lava.plan import LavaPlan
from neuro_av.export.quant_histograms import weight_histograms

from neuro_av.errors import ExportError
from neuro_av.functional.loihi_formats import (
    MAX_WEIGHT_MANTISSA,
    SILENT_FIXED,
    THRESHOLD_PRECISION_BITS,
    WEIGHT_EXP_MAX,
    WEIGHT_EXP_MIN,
)
from neuro_av.io import save_npz

BIAS_MANTISSA_BITS = 13  # Lava's bias_mant register (signed)
BIAS_EXP_MAX = 7  # Lava's bias_exp register (3 bits, unsigned)
STATE_MAX = 2 ** (STATE_BITS - 1) - 1
MIN_THRESHOLD_BITS = 6  # a population's scale is lowered to fit its weight exponents down to θ_max = 2^6 units
RESOLUTION_WARN = 0.5  # a synapse whose weights rounding changes by this much (relative norm) is warned of
READOUT_HEADROOM = 2.0  # a read-out's calibrated peak voltage uses at most half of the 24-bit state
FORMAT = "neuro-av lava fixed-point plan 3"


@dataclass(frozen=True)
class FixedPointConfig:
    threshold_bits: int = 12  # the largest threshold becomes 2^threshold_bits
    input_bits: int = 8  # graded inputs: signed payload of this many bits
    scale: float | None = None  # integer units per float voltage unit, every population; None: per population


@dataclass
class FixedSynapse:
    weight: np.ndarray  # int64 mantissas (N_dst, N_src)
    weight_exp: int
    bias: np.ndarray  # int64 mantissas (N_dst,), a Dense column of its own
    bias_exp: int


@dataclass
class FixedNeurons:
    du: np.ndarray  # (N,) int, 12-bit
    dv: np.ndarray  # (N,) int, 12-bit
    vth: np.ndarray  # (N,) int, 17-bit (SILENT_FIXED for a read-out)
    bias_mant: np.ndarray  # (N,) int, 13-bit signed
    bias_exp: int
    v_reset: np.ndarray  # (N,) int, state units
    v_init: np.ndarray  # (N,) int, state units


@dataclass
class FixedPlan:
    """The integer network; offers the Lava builder the same interface as :class:`LavaPlan`."""

    plan: LavaPlan
    scale: dict[str, float]  # population -> integer threshold units per float voltage unit
    input_scale: dict[str, float]  # input -> q_in
    weights: dict[str, FixedSynapse]  # synapse name -> integers
    neurons: dict[str, FixedNeurons]  # population name -> integers
    report: dict
    input_bits: int = FixedPointConfig.input_bits

    run_tag = "fixed_pt"
    silent = SILENT_FIXED

    # -- structure: the float plan's -------------------------------------------------------
    @property
    def dt_s(self) -> float:
        return self.plan.dt_s

    @property
    def inputs(self) -> dict[str, int]:
        return self.plan.inputs

    @property
    def populations(self):
        return self.plan.populations

    @property
    def synapses(self):
        return self.plan.synapses

    @property
    def depth(self) -> int:
        return self.plan.depth

    def incoming(self, pop: str):
        return self.plan.incoming(pop)

    # -- what the Lava builder asks of a plan ------------------------------------------------
    @property
    def input_limit(self) -> int:
        return 2 ** (self.input_bits - 1) - 1

    def encode_input(self, name: str, x) -> np.ndarray:
        q = self.input_scale[name]
        return np.clip(np.rint(np.asarray(x, np.float64) * q), -self.input_limit, self.input_limit).astype(np.int64)

    def encode_threshold(self, pop: str, theta) -> np.ndarray:
        """A streamed threshold quantised step by step; a static one is the integer the plan holds."""
        p = self.populations[pop]
        if not p.spiking:
            return np.full(np.shape(theta), SILENT_FIXED, np.int64)
        if not p.threshold_input:
            return np.broadcast_to(self.neurons[pop].vth, np.shape(theta)).astype(np.int64)
        return quantise_threshold(theta, self.scale[pop])

    def neuron(self, pop: str) -> dict:
        n = self.neurons[pop]
        return {"du": n.du, "dv": n.dv, "vth": n.vth, "bias_mant": n.bias_mant,
                "bias_exp": np.full(n.du.shape, n.bias_exp), "v_reset": n.v_reset, "v_init": n.v_init}

    def synapse(self, syn) -> dict:
        q = self.weights[syn.name]
        return {"weights": q.weight, "weight_exp": q.weight_exp, "bias": q.bias, "bias_exp": q.bias_exp}

    def decode_voltage(self, pop: str, v) -> np.ndarray:
        return np.asarray(v, np.float64) / (self.scale[pop] * 2**THRESHOLD_SHIFT)


def quantise_threshold(theta, scale: float) -> np.ndarray:
    th = np.rint(np.asarray(theta, np.float64) * scale)
    return np.clip(th, 0, 2**THRESHOLD_PRECISION_BITS - 1).astype(np.int64)


def quantise_weights(w: np.ndarray, exp: int | None = None) -> tuple[np.ndarray, int]:
    """8-bit mantissas (even, as Lava keeps them for mixed signs) and the layer's exponent: the one
    that fits the largest weight, or ``exp`` as given (a frozen calibration; what does not fit clips).
    :func:`neuro_av.functional.loihi_fixed.mantissas` computes the same in torch, op for op."""
    if exp is None:
        peak = float(np.abs(w).max()) if w.size else 0.0
        if peak == 0 or not np.isfinite(peak):  # an infinite peak: quantise() names the layer
            return np.zeros(w.shape, np.int64), 0 if peak == 0 else WEIGHT_EXP_MAX + 1
        # small weights take the smallest exponent the register holds (fewer mantissa bits, none clipped);
        # one above WEIGHT_EXP_MAX is returned as it is, for quantise() to refuse
        exp = max(int(np.ceil(np.log2(peak / MAX_WEIGHT_MANTISSA))), WEIGHT_EXP_MIN)
    mant = 2 * np.rint(w / 2.0**exp / 2)
    return np.clip(mant, -MAX_WEIGHT_MANTISSA, MAX_WEIGHT_MANTISSA).astype(np.int64), exp


def quantise_bias(v_bias_state: np.ndarray) -> tuple[np.ndarray, int, int]:
    """(13-bit mantissas, the smallest exponent 0…7 that fits the largest, neurons clipped anyway)."""
    limit = 2 ** (BIAS_MANTISSA_BITS - 1) - 1
    peak = float(np.abs(v_bias_state).max()) if v_bias_state.size else 0.0
    exp = 0
    while exp < BIAS_EXP_MAX and np.rint(peak / 2**exp) > limit:
        exp += 1
    mant = np.rint(v_bias_state / 2**exp)
    return np.clip(mant, -limit, limit).astype(np.int64), exp, int((np.abs(mant) > limit).sum())


def _exponent_needed(w: np.ndarray) -> int | None:
    """The exponent that puts ``w``'s largest magnitude at the top of the mantissa (None: no finite peak)."""
    peak = float(np.abs(w).max()) if w.size else 0.0
    return int(np.ceil(np.log2(peak / MAX_WEIGHT_MANTISSA))) if peak > 0 and np.isfinite(peak) else None


def fit_exponents(plan, scales: dict, input_scale: dict, max_bits: int) -> dict:
    """``scales`` with each population's lowered by the powers of two its largest incoming weight (or
    bias) needs to fit Loihi's weight-exponent register (a recurrent weight many thresholds large: the
    threshold keeps fewer bits), by at most ``max_bits``; a population that would need more keeps its
    scale, and :func:`quantise` refuses it, naming the synapse."""
    out = dict(scales)
    for name in plan.populations:
        needs = [e for s in plan.incoming(name)
                 for e in (_exponent_needed(s.weight * out[name] / (input_scale[s.src] if s.graded else 1.0)),
                           _exponent_needed(s.bias * out[name])) if e is not None]
        excess = max(needs, default=WEIGHT_EXP_MAX) - WEIGHT_EXP_MAX
        if 0 < excess <= max_bits:
            out[name] = out[name] / 2.0**excess
    return out


def exponents_fit(frozen: dict) -> bool:
    """Whether every weight and bias exponent of a calibration (:func:`frozen_calibration`) lies in
    Loihi's weight-exponent register."""
    return all(WEIGHT_EXP_MIN <= int(e) <= WEIGHT_EXP_MAX
               for key in ("weight_exp", "bias_exp") for e in frozen.get(key, {}).values())


def _check_exponent(plan, s, what: str, exp: int, scale: float, q_in: float, input_bits: int) -> None:
    """Refuse an exponent outside the register: the chip cannot hold the layer, and Lava's shift by it
    would give a silently broken network. The message names the value that drove it: the graded
    input's range or the weights' size against the target's threshold, whichever is further from 1."""
    if WEIGHT_EXP_MIN <= exp <= WEIGHT_EXP_MAX:
        return
    where = (f"fixed point: synapse {s.name} needs a {what} exponent of {exp}, outside Loihi's register "
             f"({WEIGHT_EXP_MIN}…{WEIGHT_EXP_MAX})")
    if exp < WEIGHT_EXP_MIN:
        raise ExportError(f"{where}: the frozen calibration was made for other weights; export or fine-tune the run "
                          "again")
    p = plan.populations[s.dst]
    top = float(np.max(p.vth)) if p.spiking else STATE_MAX / (READOUT_HEADROOM * 2**THRESHOLD_SHIFT * scale)
    values = np.abs(s.weight if what == "weight" else s.bias)
    ratio = float(values.max()) / top if top > 0 else np.inf
    peak_in = (2 ** (input_bits - 1) - 1) / q_in if s.graded and what == "weight" else 1.0
    off_by_ratio = abs(np.log10(ratio)) if np.isfinite(ratio) and ratio > 0 else np.inf
    if abs(np.log10(peak_in)) > off_by_ratio:
        cause = (f"the graded input {s.src} reaches {peak_in:.3g} (8-bit steps of {1 / q_in:.3g}): scale the input "
                 "to the range of the graph's thresholds")
    else:
        cause = (f"its {what}s reach {float(values.max()):.3g}, {ratio:.3g} times {s.dst}'s largest "
                 f"{'threshold' if p.spiking else 'voltage'} ({top:.3g}), even with {MIN_THRESHOLD_BITS} bits left to "
                 f"the threshold: scale the {what}s down or the thresholds up")
    raise ExportError(f"{where}; {cause}")


def _resolution_warnings(plan, weights: dict, layers: dict) -> list[str]:
    """Synapses at the smallest exponent whose weights rounding took most of (too small for the register)."""
    out = []
    for s in plan.synapses:
        err = layers[s.name]["weight_rel_error"]
        if weights[s.name].weight_exp == WEIGHT_EXP_MIN and err >= RESOLUTION_WARN:
            out.append(f"fixed point: synapse {s.name}'s weights are below what the smallest weight exponent "
                       f"({WEIGHT_EXP_MIN}) resolves: rounding changes them by {err:.0%}; scale the input or the "
                       "weights up")
    return out


def _state(values: np.ndarray, scale: float) -> tuple[np.ndarray, int]:
    v = np.rint(np.asarray(values, np.float64) * scale * 2**THRESHOLD_SHIFT)
    return np.clip(v, -STATE_MAX, STATE_MAX).astype(np.int64), int((np.abs(v) > STATE_MAX).sum())


def _rel_error(exact: np.ndarray, approx: np.ndarray) -> float:
    norm = float(np.linalg.norm(exact))
    return float(np.linalg.norm(approx - exact) / norm) if norm else 0.0


def population_scales(plan: LavaPlan, cfg: FixedPointConfig, threshold_peak: dict[str, float],
                      readout_peak: dict[str, float]) -> dict[str, float]:
    if cfg.scale:
        return {name: float(cfg.scale) for name in plan.populations}
    scales = {}
    for name, p in plan.populations.items():
        if p.spiking:
            top = float(np.max(p.vth))
            if p.threshold_input and p.threshold_input in threshold_peak:
                top = max(top, threshold_peak[p.threshold_input])
            if not np.isfinite(top) or top <= 0:
                raise ExportError(f"{name}: the largest threshold is {top}; fixed point needs finite positive thresholds")
            scales[name] = 2.0**cfg.threshold_bits / top
        else:
            peak = max(float(readout_peak.get(name, 0.0)), 1e-12)
            scales[name] = STATE_MAX / (READOUT_HEADROOM * 2**THRESHOLD_SHIFT * peak)
    return scales


def frozen_calibration(fixed: FixedPlan) -> dict:
    """What fixes a fixed-point plan beyond the float plan itself: every population's scale, every
    input's scale and every synapse's exponents (plain numbers, for a checkpoint or a JSON file).
    ``quantise(plan, frozen=...)`` with them gives the same integers for the same float plan."""
    return {"scale": dict(fixed.scale), "input_scale": dict(fixed.input_scale),
            "weight_exp": {k: int(w.weight_exp) for k, w in fixed.weights.items()},
            "bias_exp": {k: int(w.bias_exp) for k, w in fixed.weights.items()}, "input_bits": int(fixed.input_bits)}


def _check_frozen(plan: LavaPlan, frozen: dict) -> None:
    wanted = {"scale": set(plan.populations), "input_scale": set(plan.inputs),
              "weight_exp": {s.name for s in plan.synapses}, "bias_exp": {s.name for s in plan.synapses}}
    for key, names in wanted.items():
        missing = sorted(names - set(frozen.get(key, {})))
        if missing:
            raise ExportError(f"the frozen fixed-point calibration has no {key} for {', '.join(missing[:3])}: it was "
                              "made for another network; fine-tune the run again")


def quantise(plan: LavaPlan, cfg: FixedPointConfig = FixedPointConfig(),
             input_peak: dict[str, float] | None = None, threshold_peak: dict[str, float] | None = None,
             readout_peak: dict[str, float] | None = None, frozen: dict | None = None) -> FixedPlan:
    """``input_peak``: largest |x| per graded input, ``threshold_peak``: largest value per threshold
    stream, ``readout_peak``: largest |v| per read-out population, all from calibration clips (static
    thresholds are read from the plan). ``frozen`` (:func:`frozen_calibration`): scales and exponents
    as given instead (a fine-tuned run's, so its export holds the integers it was trained with)."""
    if frozen is not None:
        _check_frozen(plan, frozen)
        scales = {k: float(frozen["scale"][k]) for k in plan.populations}
        input_scale = {k: float(frozen["input_scale"][k]) for k in plan.inputs}
    else:
        scales = population_scales(plan, cfg, threshold_peak or {}, readout_peak or {})
        limit = 2 ** (cfg.input_bits - 1) - 1
        input_scale = {k: limit / max(float((input_peak or {}).get(k, 1.0)), 1e-12) for k in plan.inputs}
        scales = fit_exponents(plan, scales, input_scale, cfg.threshold_bits - MIN_THRESHOLD_BITS)
    weights, layers = {}, {}
    for s in plan.synapses:
        scale = scales[s.dst]
        q_in = input_scale[s.src] if s.graded else 1.0
        w_exact = s.weight * scale / q_in
        w_int, w_exp = quantise_weights(w_exact, frozen["weight_exp"][s.name] if frozen else None)
        b_int, b_exp = quantise_weights(s.bias[:, None] * scale, frozen["bias_exp"][s.name] if frozen else None)
        _check_exponent(plan, s, "weight", w_exp, scale, q_in, cfg.input_bits)
        _check_exponent(plan, s, "bias", b_exp, scale, q_in, cfg.input_bits)
        weights[s.name] = FixedSynapse(w_int, w_exp, b_int[:, 0], b_exp)
        w_deployed = w_int * 2.0**w_exp
        layers[s.name] = {"weight_exp": w_exp, "bias_exp": b_exp, "input_scale": q_in,
                          "weight_rel_error": _rel_error(w_exact, w_deployed),
                          "weights_clipped": int((np.abs(np.rint(w_exact / 2.0**w_exp)) > MAX_WEIGHT_MANTISSA + 1).sum()),
                          "bias_rel_error": _rel_error(s.bias * scale, b_int[:, 0] * 2.0**b_exp),
                          "weight_histograms": weight_histograms(w_exact, w_deployed, 2.0 ** (w_exp + 1),
                                                                 2.0 ** (w_exp + 1) * q_in / scale)}
    neurons = {}
    for name, p in plan.populations.items():
        scale = scales[name]
        du = np.clip(np.rint(p.du * DECAY_UNITY) - CURRENT_DECAY_OFFSET, 0, DECAY_UNITY - CURRENT_DECAY_OFFSET)
        dv = np.clip(np.rint(p.dv * DECAY_UNITY), 0, DECAY_UNITY - 1)
        bias_mant, bias_exp, bias_clipped = quantise_bias(p.v_bias * scale * 2**THRESHOLD_SHIFT)
        vth = quantise_threshold(p.vth, scale) if p.spiking else np.full(p.size, SILENT_FIXED, np.int64)
        v_reset, reset_clipped = _state(p.v_reset, scale)
        v_init, init_clipped = _state(p.v_init, scale)
        neurons[name] = FixedNeurons(du.astype(np.int64), dv.astype(np.int64), vth, bias_mant, bias_exp,
                                     v_reset, v_init)
        layers[name] = {
            "scale": scale,
            "du_max_error": float(np.max(np.abs((du + CURRENT_DECAY_OFFSET) / DECAY_UNITY - p.du))),
            "dv_max_error": float(np.max(np.abs(dv / DECAY_UNITY - p.dv))),
            "distinct_decays": int(len({(a, b) for a, b in zip(du.tolist(), dv.tolist())})),
            "vth_rel_error": _rel_error(p.vth * scale, vth.astype(np.float64)) if p.spiking else 0.0,
            "bias_exp": bias_exp, "bias_clipped_neurons": bias_clipped,
            "v_reset_clipped_neurons": reset_clipped, "v_init_clipped_neurons": init_clipped,
            "static_threshold_clipped_neurons": int((np.rint(p.vth * scale) > 2**THRESHOLD_PRECISION_BITS - 1).sum())
            if p.spiking else 0,
        }
    report = {"config": asdict(cfg), "frozen": frozen is not None, "scale": scales, "input_scale": input_scale, "layers": layers,
              "state_bits": STATE_BITS, "activation_shift": ACTIVATION_SHIFT, "weight_bits": WEIGHT_BITS,
              "warnings": _resolution_warnings(plan, weights, layers)}
    return FixedPlan(plan, scales, input_scale, weights, neurons, report, cfg.input_bits)


def quantise_on_input(plan: LavaPlan, currents: dict[str, np.ndarray], search: bool = True) -> FixedPlan:
    """Quantised with the input itself as the calibration set (a foreign graph's or a Norse module's:
    there are no training clips): each input's largest |x|, each read-out's largest |v| in the float
    plan; then, with ``search``, scales and exponents chosen by the spike Dice they give on that input
    (:mod:`neuro_av.export.quant_search`; never worse than the rule). Export and sim of the same
    network and input therefore get the same fixed-point plan."""
    from neuro_av.export.lava.plan import simulate

    thresholds = {p.threshold_input: p.vth for p in plan.populations.values() if p.threshold_input}
    ref = simulate(plan, currents, thresholds)
    rule = quantise(plan, input_peak={k: float(np.abs(v).max()) for k, v in currents.items()},
                    readout_peak={k: float(np.abs(v).max()) for k, v in ref.voltages.items()})
    if not search or not ref.spikes:
        return rule
    from neuro_av.export.quant_search import search as choose

    first = np.asarray(next(iter(currents.values())))
    fixed, _ = choose(plan, rule, (currents, thresholds, np.ones(first.shape[:2], bool)), ref.spikes)
    return fixed


def host_clips(fixed: FixedPlan, currents: dict[str, np.ndarray], thresholds: dict[str, np.ndarray],
               mask: np.ndarray) -> dict[str, dict]:
    """Values the host clips when it encodes the streams (valid steps only): graded inputs beyond the
    payload and streamed thresholds beyond the 17-bit register. ``{name: {"clipped", "values"}}``."""
    valid = np.asarray(mask, bool)
    out = {}
    for name, x in currents.items():
        raw = np.rint(np.asarray(x, np.float64) * fixed.input_scale[name])[valid]
        out[name] = {"clipped": int((np.abs(raw) > fixed.input_limit).sum()), "values": int(raw.size)}
    for pop in fixed.populations.values():
        if pop.threshold_input and pop.threshold_input in thresholds:
            th = np.broadcast_to(np.asarray(thresholds[pop.threshold_input], np.float64),
                                 (*valid.shape, pop.size))[valid]
            raw = np.rint(th * fixed.scale[pop.name])
            out[pop.threshold_input] = {"clipped": int(((raw < 0) | (raw > 2**THRESHOLD_PRECISION_BITS - 1)).sum()),
                                        "values": int(raw.size)}
    return out


def save_fixed(fixed: FixedPlan, path: Path) -> None:
    """The integer parameters (what Loihi registers would hold) and the report, in one ``.npz``."""
    arrays = {"format": np.array(FORMAT), "input_bits": np.array(fixed.input_bits),
              "report": np.array(json.dumps(fixed.report, default=float))}
    for name, s in fixed.weights.items():
        arrays.update({f"synapse/{name}/weight": s.weight, f"synapse/{name}/weight_exp": np.array(s.weight_exp),
                       f"synapse/{name}/bias": s.bias, f"synapse/{name}/bias_exp": np.array(s.bias_exp)})
    for name, n in fixed.neurons.items():
        arrays[f"neuron/{name}/scale"] = np.array(fixed.scale[name])
        for key, value in asdict(n).items():
            arrays[f"neuron/{name}/{key}"] = np.asarray(value)
    for name, q in fixed.input_scale.items():
        arrays[f"input/{name}/scale"] = np.array(q)
    save_npz(path, arrays)


def load_fixed(path: Path, plan: LavaPlan) -> FixedPlan:
    """A :class:`FixedPlan` from :func:`save_fixed`'s file, on the structure of ``plan`` (from the same graph)."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as z:
            data = {k: z[k] for k in z.files}
    except (OSError, ValueError) as exc:
        raise ExportError(f"{path} is not a readable fixed-point plan ({exc}); run `neuro-av export` again") from None
    if str(data.get("format", "")) != FORMAT:
        raise ExportError(f"{path} is not a {FORMAT!r} file (found {str(data.get('format', 'no format'))!r}); "
                          "run `neuro-av export` again")
    try:
        weights = {s.name: FixedSynapse(data[f"synapse/{s.name}/weight"], int(data[f"synapse/{s.name}/weight_exp"]),
                                        data[f"synapse/{s.name}/bias"], int(data[f"synapse/{s.name}/bias_exp"]))
                   for s in plan.synapses}
        neurons = {p: FixedNeurons(**{k: (int(data[f"neuron/{p}/{k}"]) if k == "bias_exp" else data[f"neuron/{p}/{k}"])
                                      for k in FixedNeurons.__dataclass_fields__}) for p in plan.populations}
        input_scale = {k: float(data[f"input/{k}/scale"]) for k in plan.inputs}
        scales = {p: float(data[f"neuron/{p}/scale"]) for p in plan.populations}
    except KeyError as exc:
        raise ExportError(f"{path} has no entry {exc} for the graph beside it: the two files come from different "
                          "exports; run `neuro-av export` again") from None
    return FixedPlan(plan, scales, input_scale, weights, neurons, json.loads(str(data["report"])),
                     int(data["input_bits"]))
