"""The figures of ``report.html``, each a base64 PNG drawn from ``report.json`` alone.

One colour per backend and per energy part in every report (``BACKEND_COLOURS``, ``PART_COLOURS``);
every bar carries its value. Figures: accuracy per backend (runs), spike Dice per layer, the raster of
one clip as differences from the reference, energy per clip on a log scale, utilisation of each
deployment target's limits, and the relative quantisation error per node (a summary per node: the
report holds no per-value errors to make a histogram of).
"""
from __future__ import annotations

import base64
import io
import textwrap

from neuro_av.sim.report_verdicts import PART_LABELS, groups, joule, limit_words, weight_histograms

BACKEND_COLOURS = {"norse": "#444444", "reference": "#444444", "lava-float": "#1f77b4", "quant-float": "#17becf",
                   "torch-fixed": "#ff7f0e", "lava-fixed": "#d62728"}
PART_COLOURS = {"spike_synaptic_events": "#2ca02c", "graded_input_events": "#98df8a", "neuron_updates": "#9467bd",
                "spikes": "#c5b0d5", "total": "#e377c2", "dense": "#8c564b", "ann": "#7f7f7f", "link": "#bcbd22"}
EXTRA, MISSING = "#d62728", "#1f77b4"  # raster: spikes only the backend has / only the reference has


def colour(backend: str) -> str:
    return BACKEND_COLOURS.get(backend, "#8c564b")


def _png(fig) -> str:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def plots(report: dict, spikes: dict | None = None) -> dict[str, tuple[str, str]]:
    """figure key -> (title, base64 PNG); keys: accuracy, fidelity, raster, energy, plan, quantisation.
    ``spikes`` (``spikes.npz`` as ``{backend: {layer: [clips, T, N]}}``, where saved) lets the raster
    show the clip whose spikes differ most between backends; without it, the report's raster clip."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"font.size": 8, "axes.spines.top": False, "axes.spines.right": False})
    out = {}
    for key, title, draw in (("accuracy", "Accuracy per backend", _accuracy),
                             ("fidelity", f"Spike Dice per layer vs {report['reference']}", _fidelity),
                             ("raster", "Spike raster of one clip: differences from the reference",
                              lambda r, p: _raster(r, p, *raster_clip(r, spikes))),
                             ("energy", "Energy per clip", _energy),
                             ("plan", "Utilisation of the limits per target", _utilisation),
                             ("quantisation", "Relative quantisation error per node", _quantisation),
                             ("quantisation_histograms", "What rounding does to each synapse's weights",
                              _quantisation_histograms)):
        fig = draw(report, plt)
        if fig is not None:
            out[key] = (title, _png(fig))
    return out


def _accuracy(report: dict, plt):
    import numpy as np

    b = report["backends"]
    if not all("HM" in r for r in b.values()):
        return None
    keys, names = ("S", "U", "HM", "ZSL"), list(b)
    fig, ax = plt.subplots(figsize=(7, 2.6))
    width = 0.8 / len(names)
    for i, n in enumerate(names):
        values, span = [b[n][k] for k in keys], b[n].get("interval")
        err = None if not span else np.array([[v - span[k][0] for k, v in zip(keys, values)],
                                               [span[k][1] - v for k, v in zip(keys, values)]]).clip(0)
        bars = ax.bar(np.arange(4) + i * width, values, width, label=n, color=colour(n), yerr=err,
                      error_kw={"elinewidth": 0.6, "capsize": 1.5, "ecolor": "#555555"})
        ax.bar_label(bars, labels=[f"{v:.1f}" for v in values], fontsize=6, label_type="center", color="white",
                     rotation=90)
    ax.set_xticks(np.arange(4) + 0.4 - width / 2, keys)
    boot = report.get("bootstrap")
    ax.set_ylabel("accuracy (%)")
    if boot:
        ax.text(0.01, 0.97, f"error bars: {boot['level'] * 100:g} % bootstrap interval over the clips",
                transform=ax.transAxes, ha="left", va="top", fontsize=6.5, color="#555555")
    top = max(max(b[n][k] for n in names for k in keys),
              max((b[n].get("interval") or {}).get(k, [0, 0])[1] for n in names for k in keys))
    ax.set_ylim(0, max(100.0 / 4, top * 1.15))
    ax.legend(fontsize=7, ncol=len(names), loc="lower center", bbox_to_anchor=(0.5, 1.0), frameon=False)
    return fig


def _fidelity(report: dict, plt):
    """1 − Dice per layer (horizontal bars, labelled with the Dice), backends of equal Dice in one bar;
    the reference's firing rate beside each layer name."""
    import numpy as np

    b, ref = report["backends"], report["reference"]
    sets = [g for g in groups(report, lambda x: (x.get("fidelity") or {}).get("layers")) if "fidelity" in b[g[0]]]
    if not sets:
        return None
    layers = list(b[sets[0][0]]["fidelity"]["layers"])
    height = 0.8 / len(sets)
    fig, ax = plt.subplots(figsize=(7, 0.5 + 0.28 * len(layers) * len(sets) + 0.3))
    top = max((1 - b[g[0]]["fidelity"]["layers"][l]["dice"]) * 100 for g in sets for l in layers)
    if top == 0:  # every backend equals the reference spike for spike: the verdict says so, no chart
        return None
    for i, g in enumerate(sets):
        f = b[g[0]]["fidelity"]["layers"]
        y = np.arange(len(layers)) + i * height
        miss = [(1 - f[l]["dice"]) * 100 for l in layers]
        ax.barh(y, miss, height, color=colour(g[0]), label=" = ".join(g))
        for yy, l, m in zip(y, layers, miss):
            ax.text(m + max(top, 1e-3) * 0.01, yy, f"Dice {f[l]['dice']:.4f}" + (" (identical)" if m == 0 else ""),
                    va="center", fontsize=6.5)
    rates = b[sets[0][0]]["fidelity"]["layers"]
    ax.set_yticks(np.arange(len(layers)) + 0.4 - height / 2,
                  [f"{l}\n{ref} fires {rates[l]['rate_ref'] * 100:.1f} %" for l in layers])
    ax.invert_yaxis()
    ax.set_xlim(0, max(top, 1e-3) * 1.35)
    ax.set_xlabel(f"spikes not shared with {ref}: 1 − Dice (%)")
    ax.legend(fontsize=7, ncol=min(len(sets), 3), loc="lower center", bbox_to_anchor=(0.5, 1.0), frameon=False)
    return fig


def raster_clip(report: dict, spikes: dict | None) -> tuple[dict, str]:
    """``({backend: {layer: [[step, neuron], ...]}}, which clip)``: from ``spikes`` the clip with the most
    spikes that differ from the reference's (the first clip where none differ), else report.json's raster."""
    import numpy as np

    ref, b = report["reference"], report["backends"]
    layers = list(b[ref]["spikes"])
    usable = spikes and all(n in spikes and all(l in spikes[n] for l in layers) for n in b) and all(
        spikes[n][l].shape[0] == report["clips"] for n in b for l in layers)
    if not usable:
        return report.get("raster") or {}, "the first clip simulated"
    differ = sum(np.abs(spikes[n][l].astype(np.int16) - spikes[ref][l]).reshape(report["clips"], -1).sum(1)
                 for n in b if n != ref for l in layers)
    clip = int(np.argmax(differ)) if np.any(differ) else 0
    label = (f"clip {clip} of {report['clips']} (most spikes differ)" if np.any(differ)
             else f"clip 0 of {report['clips']} (no clip differs)")
    return {n: {l: np.argwhere(spikes[n][l][clip] > 0).tolist() for l in layers} for n in b}, label


def _raster(report: dict, plt, raster: dict, clip: str):
    """Panel 1: the reference's spikes of one clip; one panel per group of backends with equal spikes:
    shared spikes grey, spikes only the backend has red, spikes only the reference has blue."""
    import numpy as np

    ref, b = report["reference"], report["backends"]
    if not raster.get(ref):
        return None
    layers = list(b[ref]["spikes"])
    sizes = [b[ref]["spikes"][l]["neurons"] for l in layers]
    starts = np.concatenate([[0], np.cumsum(sizes)])

    def points(name):
        return {(int(t), int(n) + int(starts[i])) for i, l in enumerate(layers)
                for t, n in (raster[name].get(l) or [])}

    mine = points(ref)
    by_spikes: list[list[str]] = []
    for n in (n for n in b if n != ref and raster.get(n)):
        match = next((s for s in by_spikes if points(s[0]) == points(n)), None)
        match.append(n) if match else by_spikes.append([n])
    differ = [s for s in by_spikes if points(s[0]) != mine]
    same = [n for s in by_spikes if points(s[0]) == mine for n in s]
    panels = [None, *differ[:4]]
    fig, axes = plt.subplots(1, len(panels), figsize=(max(6.0, 3.3 * len(panels)), min(1.6 + 0.03 * starts[-1], 5.5)),
                             squeeze=False, sharey=True)
    steps = report.get("steps") or 1 + max((t for t, _ in mine), default=0)
    for ax, g in zip(axes[0], panels):
        if g is None:
            pts = np.array(sorted(mine), dtype=float).reshape(-1, 2)
            ax.scatter(pts[:, 0], pts[:, 1], s=6, marker="|", color="black", lw=0.8)
            title = ref + ("" if ref == "reference" else " (the reference)")
        else:
            theirs = points(g[0])
            for pts, c, label in ((mine & theirs, "0.8", "shared"), (theirs - mine, EXTRA, "only " + g[0]),
                                  (mine - theirs, MISSING, "only " + ref)):
                arr = np.array(sorted(pts), dtype=float).reshape(-1, 2)
                ax.scatter(arr[:, 0], arr[:, 1], s=8 if c != "0.8" else 5, marker="|" if c == "0.8" else "o",
                           color=c, label=f"{label} ({len(pts)})", lw=0.8)
            title = "\n".join(textwrap.wrap(" = ".join(g), 40)) + f"\n{len(theirs ^ mine)} spikes differ from {ref}'s"
            ax.legend(fontsize=6, loc="upper center", bbox_to_anchor=(0.5, -0.12), frameon=False, ncol=1)
        for s in starts[1:-1]:
            ax.axhline(s - 0.5, color="0.6", lw=0.5)
        ax.set_title(title, fontsize=7.5)
        ax.set_xlim(-0.5, steps - 0.5)
        ax.set_xlabel("time step")
    fig.suptitle("\n".join(textwrap.wrap(clip + (f"; {', '.join(same)} identical to {ref} in it" if same else ""),
                                           60 * len(panels))), fontsize=8, y=1.0, va="bottom")
    axes[0][0].set_yticks((starts[:-1] + starts[1:]) / 2 - 0.5, layers)
    axes[0][0].set_ylim(starts[-1] - 0.5, -0.5)
    if len(differ) > 4:
        fig.text(0.5, -0.02, f"{len(differ) - 4} more groups of backends not shown", ha="center", fontsize=7)
    return fig


def _energy(report: dict, plt):
    """Horizontal bars on a log scale: each priced profile's total and parts, the same layers dense,
    the host's ANN parts; the link as a row of text where it is not priced."""
    ref = report["reference"]
    e = report["backends"][ref]["energy"]
    rows = []
    for name, n in e["neuromorphic"].items():
        rows.append((f"spiking branch at {n.get('title', name)} op costs", n["total"], PART_COLOURS["total"]))
        rows += [(f"   {PART_LABELS.get(k, k)}", v, PART_COLOURS.get(k, "0.5")) for k, v in n["parts"].items()]
    rows.append(("same layers as dense fp32 MACs (45 nm)", e["dense_accelerator"]["total"], PART_COLOURS["dense"]))
    if (e.get("ann_parts") or {}).get("total"):
        rows.append(("host: ANN parts, pre + post (45 nm fp32 MACs)", e["ann_parts"]["total"], PART_COLOURS["ann"]))
    link = (report.get("deployment") or {}).get("link")
    priced = {n: t["link_energy_j_per_clip"] for n, t in ((report.get("deployment") or {}).get("targets") or {}).items()
              if t.get("link_energy_j_per_clip")}
    rows += [(f"host-chip link on {n}", v, PART_COLOURS["link"]) for n, v in priced.items()]
    if link and not priced:
        rows.append(("host-chip link", None, PART_COLOURS["link"]))
    fig, ax = plt.subplots(figsize=(7.5, 0.45 + 0.27 * len(rows)))
    values = [v for _, v, _ in rows if v]
    lo, hi = min(values) / 3, max(values) * 12
    for y, (label, v, c) in enumerate(rows):
        if not v:
            ax.text(lo * 1e6 * 1.2, y, "0" if v == 0 else "not priced: no published energy per bit", va="center",
                    fontsize=7, style="italic")
            continue
        ax.barh(y, (v - lo) * 1e6, color=c, left=lo * 1e6, height=0.7)
        ax.text(v * 1e6 * 1.1, y, joule(v), va="center", fontsize=7)
    ax.set_xscale("log")
    ax.set_xlim(lo * 1e6, hi * 1e6)
    ax.set_yticks(range(len(rows)), [r[0] for r in rows])
    ax.set_ylim(len(rows) - 0.3, -0.7)
    ax.xaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:g}"))
    ax.set_xlabel(f"µJ per clip (log scale; {ref}'s operation counts)")
    return fig


def _utilisation(report: dict, plt):
    """Per target, per population: the share of each checked limit it uses (log scale; dashed: the limit)."""
    import numpy as np

    targets = (report.get("deployment") or {}).get("targets") or {}
    if not targets:
        return None
    limits = list(dict.fromkeys(lim for t in targets.values() for p in t["populations"] for lim in p["utilisation"]))
    cmap = plt.get_cmap("tab10")
    lim_colour = {lim: cmap(i % 10) for i, lim in enumerate(limits)}
    counts = [len({lim for p in t["populations"] for lim in p["utilisation"]}) or 1 for t in targets.values()]
    heights = [max(1, len(t["populations"])) * (0.12 + 0.11 * n) + 0.3 for t, n in zip(targets.values(), counts)]
    fig, axes = plt.subplots(len(targets), 1, figsize=(7.5, 0.6 * len(targets) + sum(heights)), squeeze=False,
                             gridspec_kw={"height_ratios": heights})
    used = [u * 100 for t in targets.values() for p in t["populations"] for u in p["utilisation"].values() if u > 0]
    lo = min(used + [1.0]) / 3
    for ax, (name, t) in zip(axes[:, 0], targets.items()):
        pops = t["populations"]
        lims = [lim for lim in limits if any(lim in p["utilisation"] for p in pops)]
        h = 0.8 / max(len(lims), 1)
        for j, lim in enumerate(lims):
            y = np.arange(len(pops)) + j * h
            u = [p["utilisation"].get(lim, 0.0) * 100 for p in pops]
            ax.barh(y, [max(v - lo, 0.0) for v in u], h, left=lo, color=lim_colour[lim], label=limit_words(lim))
            for yy, v in zip(y, u):
                ax.text(max(v, lo) * 1.08, yy, f"{v:.2g} %", va="center", fontsize=6.5)
        ax.axvline(100, color="black", lw=0.8, ls="--")
        ax.set_xscale("log")
        ax.set_xlim(lo, 300)
        ax.set_yticks(np.arange(len(pops)) + 0.4 - h / 2,
                      [f"{p['name']} ({p['cores']} core{'s' if p['cores'] != 1 else ''})" for p in pops])
        ax.invert_yaxis()
        verdict = "fits" if t["fits"] else "does NOT fit"
        ax.set_title(f"{t['title']}: {verdict}; {t['cores']:,}" + (f" of {t['cores_per_chip'] * t['chips']:,}"
                     if t.get("cores_per_chip") else "") + " cores used"
                     + (" (a lower bound)" if t["cores_lower_bound"] else ""), fontsize=8, loc="left")
        ax.legend(fontsize=6.5, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
        ax.xaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:g} %"))
    axes[-1, 0].set_xlabel("use of each limit per core (log scale; dashed line: the limit)")
    fig.tight_layout()
    return fig


ERRORS = {"weight_rel_error": "weights", "bias_rel_error": "biases", "vth_rel_error": "thresholds"}


def _quantisation(report: dict, plt):
    import numpy as np

    layers = (report.get("quantisation") or {}).get("layers") or {}
    rows = [(node, kind, row[k]) for node, row in layers.items() for k, kind in ERRORS.items() if row.get(k)]
    if not rows:
        return None
    fig, ax = plt.subplots(figsize=(7, 0.4 + 0.2 * len(rows)))
    cmap = plt.get_cmap("Set2")
    for y, (node, kind, v) in enumerate(rows):
        ax.barh(y, v * 100, color=cmap(list(ERRORS.values()).index(kind)), height=0.7)
        ax.text(v * 100 * 1.1, y, f"{v * 100:.2g} %", va="center", fontsize=6.5)
    ax.set_xscale("log")
    ax.set_xlim(min(v for *_, v in rows) * 100 / 2, max(v for *_, v in rows) * 100 * 8)
    ax.set_yticks(np.arange(len(rows)), [f"{node}: {kind}" for node, kind, _ in rows])
    ax.invert_yaxis()
    ax.xaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:g} %"))
    ax.set_xlabel("relative error after rounding to fixed point (log scale)")
    return fig


HISTOGRAM_ROWS = 12  # synapses drawn; the table lists every one


def _quantisation_histograms(report: dict, plt):
    """Per synapse: its non-zero weights' magnitudes in steps (octaves; below ½ step they round to
    zero) and the rounding error in steps (clipped weights outside ±½ named in the title)."""
    import numpy as np

    rows = list(weight_histograms(report).items())[:HISTOGRAM_ROWS]
    if not rows:
        return None
    fig, axes = plt.subplots(len(rows), 2, figsize=(7, 0.4 + 0.95 * len(rows)), squeeze=False,
                             gridspec_kw={"width_ratios": [1.2, 1]})
    for (name, h), (left, right) in zip(rows, axes):
        mag = np.asarray(h["magnitude"]["counts"], float) / h["values"] * 100
        lower = h["magnitude"]["edges"]
        left.bar(np.arange(len(mag)), mag, 0.85, color=["#d62728" if e < 0.5 else "#1f77b4" for e in lower])
        left.set_xticks(np.arange(len(mag)), [f"1/{round(1 / e)}" if 0 < e < 1 else f"{e:g}" for e in lower],
                        fontsize=5.5)
        left.set_ylabel(f"{name}\n% of weights", fontsize=6.5)
        zeroed = h["rounded_to_zero"] / h["values"]
        left.set_title(f"{h['values']:,} non-zero weights, step {h['step']:.2g}; rounded to zero: {zeroed:.1%}",
                       fontsize=6.5, loc="left")
        err = np.asarray(h["error"]["counts"], float) / h["values"] * 100
        edges = np.asarray(h["error"]["edges"])
        right.bar((edges[:-1] + edges[1:]) / 2, err, np.diff(edges) * 0.9, color="#17becf")
        clipped = h["error"]["below"] + h["error"]["above"]
        right.set_title(f"rounding error; clipped: {clipped:,} ({clipped / h['values']:.1%})", fontsize=6.5, loc="left")
        right.set_xlim(-0.55, 0.55)
    axes[-1, 0].set_xlabel("|weight| in steps (lower edge of each octave; red: below ½ step, rounds to zero)")
    axes[-1, 1].set_xlabel("deployed − float weight, in steps")
    fig.tight_layout()
    return fig
