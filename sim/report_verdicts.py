"""The findings of a sim report in sentences: accuracy, fidelity, energy and plan verdicts.

Each function reads ``report.json`` (as a dict) and returns Markdown sentences (``**bold**`` and
backticks only) that state what the JSON holds and nothing else; a verdict whose data the report
lacks is left out. The first screen of ``report.html`` and the top of ``report.md`` are these.
"""
from __future__ import annotations

from neuro_av.export.deployment_text import LIMITS, plural

PART_LABELS = {"spike_synaptic_events": "synaptic events of spikes", "graded_input_events": "graded input events",
               "neuron_updates": "neuron updates", "spikes": "spikes sent"}


def limit_words(limit: str) -> str:
    return LIMITS.get(limit, (limit, limit.replace("_", " ")))[1]


def joule(x: float | None) -> str:
    """Energy per clip in µJ (the console's unit) to three significant figures."""
    return "—" if x is None else f"{x * 1e6:.3g} µJ"


def percent(ratio: float, digits: int = 1) -> str:
    if 0 < ratio < 0.5 * 10 ** -(digits + 2):
        return f"<{10 ** -digits:g} %"
    return f"{ratio * 100:.{digits}f} %"


def groups(report: dict, key) -> list[list[str]]:
    """Non-reference backends grouped by equal ``key(backend)`` (first seen first)."""
    out: dict[str, list[str]] = {}
    reps: dict[str, object] = {}
    for name, b in report["backends"].items():
        if name == report["reference"]:
            continue
        value = key(b)
        match = next((k for k, v in reps.items() if v == value), None)
        if match is None:
            reps[name] = value
            out[name] = [name]
        else:
            out[match].append(name)
    return list(out.values())


def names_and(names: list[str]) -> str:
    """Names joined for a sentence: a; a and b; a, b and c."""
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def accuracy(report: dict) -> list[str]:
    b, ref = report["backends"], report["reference"]
    if not all("HM" in r for r in b.values()):
        return []
    r = b[ref]
    split = f" {report['split']}" if report.get("split") else ""
    hm_span = (r.get("interval") or {}).get("HM")
    level = f"{(report.get('bootstrap') or {}).get('level', 0.95) * 100:g} %"
    head = (f"**Accuracy.** {ref} (the reference) scores HM {r['HM']:.2f} (S {r['S']:.2f}, U {r['U']:.2f}, "
            f"ZSL {r['ZSL']:.2f}" + (f"; {level} bootstrap interval of HM over the clips {hm_span[0]:.2f}–{hm_span[1]:.2f}"
                                     if hm_span else "") + f") on {report['clips']:,}{split} clips")
    parts, spans = [], False
    for names in groups(report, lambda x: (x.get("delta_vs_reference", {}).get("HM"),
                                            x.get("class_agreement_vs_reference"))):
        x = b[names[0]]
        delta = x.get("delta_vs_reference", {}).get("HM")
        agree = x.get("class_agreement_vs_reference")
        d_span = (x.get("delta_interval_vs_reference") or {}).get("HM")
        shown = delta is not None and bool(d_span) and d_span != [0.0, 0.0]  # a zero interval says no more than Δ
        spans |= shown
        d_text = None if delta is None else f"{delta:+.2f}" + (f" [{d_span[0]:+.2f}, {d_span[1]:+.2f}]" if shown else "")
        parts.append(names_and(names) + " " + " / ".join(
            [*([] if d_text is None else [d_text]), *([] if agree is None else [percent(agree)])]))
    if not parts:
        return [head + "."]
    what = " and ".join([*([f"ΔHM [paired {level} interval]" if spans else "ΔHM"]
                           if "delta_vs_reference" in b[names[0]] else []),
                         *([f"share of clips given {ref}'s class"]
                           if "class_agreement_vs_reference" in b[names[0]] else [])])
    return [f"{head}; {what}: " + "; ".join(parts) + "."]


def fidelity(report: dict) -> list[str]:
    b, ref = report["backends"], report["reference"]
    if not any("fidelity" in x for n, x in b.items() if n != ref):
        return []
    rates = [f["rate_ref"] for f in next(x for n, x in b.items() if n != ref and "fidelity" in x)
             ["fidelity"]["layers"].values()]
    out = [f"**Fidelity in spikes** (Dice vs {ref}, whose layers fire at "
           + (f"{percent(min(rates))}–{percent(max(rates))}" if len(rates) > 1 else percent(rates[0]))
           + " of neuron steps):"]
    parts = []
    for names in groups(report, lambda x: (x.get("fidelity") or {}).get("layers")):
        f = b[names[0]].get("fidelity")
        if f is None:
            continue
        layers = f["layers"]
        if all(v["dice"] == 1.0 for v in layers.values()):
            verb = "match" if len(names) > 1 else "matches"
            parts.append(f"{names_and(names)} {verb} it spike for spike on every layer")
            continue
        worst, w = min(layers.items(), key=lambda kv: kv[1]["dice"])
        parts.append(f"{names_and(names)}: Dice {f['dice']:.4f} over all layers, lowest {w['dice']:.4f} on `{worst}` "
                     f"({w['dice_1step']:.4f} within ±1 step; firing rate {percent(w['rate'])} vs {ref}'s "
                     f"{percent(w['rate_ref'])})")
    out[0] += " " + "; ".join(parts) + "."
    from neuro_av.export.fidelity import LADDER

    rungs = [(n, b[n]["fidelity_vs_previous"]) for n in LADDER if (b.get(n) or {}).get("fidelity_vs_previous")]
    if rungs:
        steps = []
        for name, r in rungs:
            worst, w = min(r["layers"].items(), key=lambda kv: kv[1]["dice"])
            steps.append(f"{name} equals {r['against']} spike for spike" if w["dice"] == 1.0
                         else f"{r['against']} → {name} costs most on `{worst}` (Dice {w['dice']:.4f})")
        out.append("Ladder: " + "; ".join(steps) + ".")
    out += _rounding(report)
    return out


def weight_histograms(report: dict) -> dict[str, dict]:
    """synapse -> its ``weight_histograms`` (:mod:`neuro_av.export.quant_histograms`), where it has weights."""
    layers = (report.get("quantisation") or {}).get("layers") or {}
    return {n: r["weight_histograms"] for n, r in layers.items() if (r.get("weight_histograms") or {}).get("values")}


def _rounding(report: dict) -> list[str]:
    """How much of each synapse's weights rounding to fixed point zeroes or clips."""
    hist = list(weight_histograms(report).values())
    if not hist:
        return []
    zero = [h["rounded_to_zero"] / h["values"] for h in hist]
    clipped = sum(h["error"]["below"] + h["error"]["above"] for h in hist)
    span = percent(zero[0]) if len(zero) == 1 else f"{percent(min(zero))}–{percent(max(zero))}"
    return [f"Rounding to fixed point sets {span} of {'the' if len(hist) == 1 else 'each'} synapse's non-zero "
            f"weights to zero (below half a weight step) and clips "
            f"{'none' if clipped == 0 else plural(clipped, 'weight')}."]


def energy(report: dict) -> list[str]:
    """The spiking branch at each priced profile's op costs against the same layers dense, the host's
    share, and the link (from the reference backend's counts)."""
    ref = report["reference"]
    e = report["backends"][ref]["energy"]
    dense = e["dense_accelerator"]["total"]
    out = []
    for name, n in e["neuromorphic"].items():
        ratio = n["total"] / dense if dense else None
        cmp = ("" if ratio is None else f": {ratio:.2g}× more" if ratio >= 1 else f": {1 / ratio:.2g}× less")
        top, share = max(n["parts"].items(), key=lambda kv: kv[1])
        text = (f"**Energy per clip** ({ref}'s counts): the spiking branch costs **{joule(n['total'])}** at "
                f"{n.get('title', name)}'s op costs against **{joule(dense)}** for the same layers as dense fp32 "
                f"MACs (45 nm){cmp}; {PART_LABELS.get(top, top)} are {percent(share / n['total'], 0)} of it.")
        ann = (e.get("ann_parts") or {}).get("total")
        if ann:
            text += (f" The host's ANN parts (pre + post as 45 nm fp32 MACs) take {joule(ann)}, "
                     f"{percent(ann / (ann + n['total']), 0)} of branch and host together.")
        out.append(text)
    for name, n in e.get("not_priced", {}).items():
        out.append(f"{n['title']} is not priced: no per-operation energies in its profile.")
    gpu = report.get("gpu_energy")
    if isinstance(gpu, dict) and gpu.get("measured"):
        out.append(f"Measured GPU energy of pre + post (NVML): {joule(gpu['joules_per_clip'])} per clip.")
    link = (report.get("deployment") or {}).get("link")
    if link:
        targets = report["deployment"].get("targets") or {}
        priced = {n: t["link_energy_j_per_clip"] for n, t in targets.items() if t.get("link_energy_j_per_clip")}
        per_clip = link["bytes_per_clip"]
        size = ("" if per_clip.get("host_to_chip") is None
                else f" ({per_clip['host_to_chip']:,.0f} B in + {per_clip['chip_to_host']:,.0f} B out per clip)")
        out.append(f"The host-chip link{size} " + (
            "costs " + ", ".join(f"{joule(v)} on {n}" for n, v in priced.items()) + "." if priced
            else "is not in these figures: no published energy per bit."))
    return out


def _reason(violation: str) -> str:
    """A violation's first clause: "4 threshold streams from the host (a threshold per neuron per step)"
    of "...: loihi1's neuron models are fixed"; the plan section gives the whole sentence."""
    first = violation.split(";")[0]
    return first.split("): ")[0] + ")" if "): " in first else first


def plan(report: dict) -> list[str]:
    dep = report.get("deployment")
    if not dep:
        return []
    out = []
    for name, t in dep["targets"].items():
        where = (f"{'at least ' if t['cores_lower_bound'] else ''}"
                 + (f"{t['cores']:,} of {t['cores_per_chip'] * t['chips']:,} cores" if t.get("cores_per_chip")
                    else plural(t["cores"], "core")) + f" on {plural(t['chips'], 'chip')}")
        if t["fits"]:
            text = f"{t['title']} fits on {where}"
        else:
            text = f"{t['title']} does **not** fit: " + "; ".join(map(_reason, t["violations"]))
            if t.get("fixes"):
                text += f"; it would need {' and '.join(t['fixes'])}"
            if t.get("placement_fits"):
                text += f"; the placement alone fits on {where}"
        pops = [p for p in t["populations"] if p.get("largest_limit")]
        bound = [p for p in t["populations"] if p.get("binding_limit")]
        if bound:
            text += "; " + ", ".join(f"`{p['name']}` is bound by {limit_words(p['binding_limit'])} "
                                     f"({percent(p['utilisation'][p['binding_limit']], 0)})" for p in bound)
        elif pops:
            top = max(pops, key=lambda p: p["utilisation"][p["largest_limit"]])
            lim = top["largest_limit"]
            text += (f"; no limit binds, the fullest is `{top['name']}` at {percent(top['utilisation'][lim])} of "
                     f"{limit_words(lim)}")
        if t["cores_lower_bound"]:
            text += " (per-core limits unpublished)"
        out.append(text + ".")
    link = dep.get("link")
    if link and link.get("realtime_bits_per_s") is not None:
        text = f"Host-chip link in real time: {link['realtime_bits_per_s'] / 1e6:,.2f} Mbit/s"
        if link.get("threshold_stream_share"):
            text += (f", {percent(link['threshold_stream_share'], 0)} of host → chip for threshold streams "
                     f"({link['static_threshold']['realtime_bits_per_s'] / 1e6:,.2f} Mbit/s with static thresholds)")
        out.append(text + ".")
    if link and len(out) > len(dep["targets"]):  # the link's sentence ends the last target's bullet
        out[-2:] = [out[-2] + " " + out[-1]]
    return [f"**Plan.** {text}" for text in out]


def verdicts(report: dict) -> list[str]:
    """Every verdict the report's data support, one Markdown bullet per topic in reading order
    (accuracy, fidelity, energy, plan), then the report's warnings."""
    topics = (accuracy(report), fidelity(report), energy(report))
    return ([" ".join(t) for t in topics if t] + plan(report)
            + [f"**Warning:** {w}" for w in report.get("warnings", [])])
