"""The deployment plan of a spiking branch: does it fit a chip, on how many cores, and what crosses the
host-chip link every time step (``RUN/export/deployment.json``, ``neuro-av plan``).

Per target (a hardware profile, :mod:`neuro_av.export.hardware`): what the exported network needs
that the chip may lack — graded (multi-bit) input spikes of ``input_bits``, a threshold per neuron
per step streamed from the host, neurons that reset to (or start at) a non-zero voltage — and the
placement of :mod:`neuro_av.export.placement`; ``fits`` is false with the reasons when anything is
missing or does not fit.

The link, per clip and per step, in the network as exported: host → chip carries the graded inputs
(``input_bits`` each; inputs known to be binary spikes, ``spike_inputs``, one bit), the threshold
streams (``threshold_bits`` each: the quantised integers) and one bit per bias channel (a clip's valid-step mask, one per depth); chip → host carries what the
host reads (the populations feeding an Output node): one bit per neuron per step for spikes, a
``state_bits`` voltage for a read-out. Real time means one step per ``dt``. The same network with
static thresholds needs no threshold streams: ``static_threshold`` gives its link for comparison.
A link's energy is given only where the profile has a published energy per bit.
"""
from __future__ import annotations

import nir
import numpy as np
from neuro_av.export.deployment_text import few, plural, summary  # noqa: F401 (summary: the plan as text)
from neuro_av.export.hardware import BUILTIN, figure, load_profile, sources, title
from neuro_av.export.placement import place

FORMAT = "neuro-av deployment plan 1"
DEFAULT_TARGETS = BUILTIN


def host_reads(graph: nir.NIRGraph) -> set[str]:
    """Populations the host reads: those that feed an Output node."""
    outputs = {k for k, n in graph.nodes.items() if isinstance(n, nir.Output)}
    return {a for a, b in graph.edges if b in outputs}


def needs(plan, input_bits: int, spike_inputs=()) -> dict:
    graded = sorted(s.name for s in plan.synapses if s.graded and s.src not in spike_inputs)
    streams = sorted(p.threshold_input for p in plan.populations.values() if p.threshold_input)
    custom = sorted(p.name for p in plan.populations.values() if (p.v_reset != 0).any() or (p.v_init != 0).any())
    return {"graded_input_bits": input_bits if graded else 0, "graded_synapses": graded, "threshold_streams": streams,
            "nonzero_reset_or_start": custom,
            "bias_channels": len({plan.populations[s.dst].depth for s in plan.synapses if (s.bias != 0).any()})}


def _what(kind: str, names: list[str]) -> str:
    """What the network needs, with the populations or streams counted rather than listed."""
    if kind == "threshold_streams":
        return f"{plural(len(names), 'threshold stream')} from the host (a threshold per neuron per step)"
    return (f"{plural(len(names), 'population')} ({few(names)}) whose neurons reset to, or start at, "
            "a non-zero voltage")


def _feature_violations(profile: dict, need: dict) -> tuple[list[str], list[str], list[str]]:
    """(violations, notes, fixes): ``fixes`` names what the network would need to change for each
    violation it removes (the advice of :func:`~neuro_av.export.deployment_text.summary`)."""
    violations, notes, fixes = [], [], []
    name = profile["name"]
    if need["graded_input_bits"]:
        graded = figure(profile, "graded_spikes")
        payload = figure(profile, "graded_payload_bits")
        if graded is False:
            violations.append(f"the first layer takes graded {need['graded_input_bits']}-bit inputs; {name} "
                              "sends binary spikes only (a rate or bit-plane code would be another network)")
            fixes.append("binary spike inputs")
        elif graded is None:
            notes.append(f"graded inputs: whether {name} carries them is not in the profile (unchecked)")
        elif payload is not None and payload < need["graded_input_bits"]:
            violations.append(f"graded inputs need {need['graded_input_bits']} bits; {name} carries {payload}")
            fixes.append(f"inputs of at most {payload} bits")
    for kind, fix in (("threshold_streams", "static thresholds"),
                      ("nonzero_reset_or_start", "a zero reset and start voltage")):
        if not need[kind]:
            continue
        mode = figure(profile, "threshold_input")
        if mode == "none":
            violations.append(f"{_what(kind, need[kind])}: {name}'s neuron models are fixed")
            fixes.append(fix)
        elif mode == "microcode":
            notes.append(f"{_what(kind, need[kind])}: needs a microcoded neuron model on {name} "
                         "(no stock Lava neuron does this)")
        elif mode is None:
            notes.append(f"{_what(kind, need[kind])}: whether {name} supports it is not in the profile (unchecked)")
    return violations, notes, fixes


def link(plan, graph: nir.NIRGraph, input_bits: int, threshold_bits: int, state_bits: int, steps: int | None,
         dt_s: float, spike_inputs=()) -> dict:
    """Bits and bytes over the host-chip link, per step and per clip of ``steps`` steps."""
    reads = host_reads(graph)
    inputs = sum(w * (1 if name in spike_inputs else input_bits) for name, w in plan.inputs.items())
    thresholds = sum(p.size * threshold_bits for p in plan.populations.values() if p.threshold_input)
    bias = needs(plan, input_bits)["bias_channels"]
    h2c = inputs + thresholds + bias
    c2h = sum(plan.populations[p].size * (1 if plan.populations[p].spiking else state_bits) for p in reads)
    per_clip = (lambda bits: None if steps is None else bits * steps / 8)
    out = {"bits_per_step": {"graded_inputs": inputs, "threshold_streams": thresholds, "bias_channels": bias,
                             "host_to_chip": h2c, "chip_to_host": c2h},
           "bytes_per_step_host_to_chip": h2c / 8, "bytes_per_step_chip_to_host": c2h / 8,
           "bytes_per_clip": {"host_to_chip": per_clip(h2c), "chip_to_host": per_clip(c2h)},
           "steps_per_clip": steps, "dt_s": dt_s, "realtime_bits_per_s": (h2c + c2h) / dt_s,
           "threshold_stream_share": thresholds / h2c if h2c else 0.0,
           "host_reads": sorted(reads)}
    static = h2c - thresholds
    out["static_threshold"] = {"host_to_chip_bits_per_step": static, "bytes_per_clip_host_to_chip": per_clip(static),
                               "realtime_bits_per_s": (static + c2h) / dt_s}
    return out


def deployment_plan(plan, graph: nir.NIRGraph, steps: int | None, input_bits: int = 8, weight_bits: int = 8,
                    targets=DEFAULT_TARGETS, spike_inputs=()) -> dict:
    """The plan of ``plan`` (a :class:`~neuro_av.export.lava.plan.LavaPlan`) on each target profile
    (names of built-in profiles, paths, or loaded profile dicts; one without placement figures, an
    energy-only profile, is listed under ``not_planned``); ``spike_inputs``: inputs that carry binary
    spikes (graded otherwise)."""
    profiles = {}
    for t in targets:
        profile = t if isinstance(t, dict) else load_profile(t)
        profiles.setdefault(profile["name"], profile)
    need = needs(plan, input_bits, spike_inputs)
    reads = host_reads(graph)
    out = {"format": FORMAT, "needs": need,
           "network": {"populations": len(plan.populations), "neurons": sum(p.size for p in plan.populations.values()),
                       "synapses": int(sum(np.count_nonzero(s.weight) for s in plan.synapses)), "weight_bits": weight_bits,
                       "dt_s": plan.dt_s, "steps_per_clip": steps},
           "targets": {}, "not_planned": {name: "its profile has no placement figures (energy only)"
                                          for name, p in profiles.items() if not p.get("figures")}}
    for profile in (p for p in profiles.values() if p.get("figures")):
        placed = place(plan, profile, weight_bits, reads)
        violations, notes, fixes = _feature_violations(profile, need)
        violations += placed["violations"]
        threshold_bits = figure(profile, "threshold_bits", 17)
        state_bits = figure(profile, "state_bits", 24)
        lk = link(plan, graph, input_bits, threshold_bits, state_bits, steps, plan.dt_s, spike_inputs)
        out.setdefault("link", lk)  # the link as exported: the first target's widths
        energy_bit = figure(profile, "link_energy_pj_per_bit")
        bits_clip = None if steps is None else (lk["bits_per_step"]["host_to_chip"] + lk["bits_per_step"]["chip_to_host"]) * steps
        bandwidth = figure(profile, "link_bits_per_s")
        out["targets"][profile["name"]] = {
            "title": title(profile), "fits": not violations, "violations": violations,
            "notes": notes, "fixes": fixes, "placement_fits": not placed["violations"],
            "cores": placed["cores"], "chips": placed["chips"],
            "cores_per_chip": figure(profile, "cores_per_chip"),
            "cores_lower_bound": placed["cores_lower_bound"], "unchecked": placed["unchecked"],
            "populations": placed["populations"], "sources": sources(profile), "unknown": profile.get("unknown", {}),
            "link_energy_j_per_clip": None if energy_bit is None or bits_clip is None else bits_clip * energy_bit * 1e-12,
            "link_energy_note": None if energy_bit is not None else
            f"link energy not modelled: no published energy per bit for the {profile['name']} host link",
            "link_realtime": None if bandwidth is None else lk["realtime_bits_per_s"] <= bandwidth,
        }
    if "link" not in out:  # no target at all: Loihi's widths
        out["link"] = link(plan, graph, input_bits, 17, 24, steps, plan.dt_s, spike_inputs)
    return out
