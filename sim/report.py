"""``report.json`` → ``report.md`` and a self-contained ``report.html`` (plots inlined as PNG).

Everything is rendered from the JSON alone, so ``neuro-av report DIR`` re-renders a finished run.
Plots: firing rate per layer and backend, a spike raster of one clip, the energy breakdown per clip
(synaptic, neuron and spike parts of the spiking branch, the ANN parts, and the host-chip link,
marked where its energy is not modelled), the core map of each deployment target, and accuracy per
backend (runs only).
"""
from __future__ import annotations

import base64
import html
import io
import json
import re
from pathlib import Path

from neuro_av.errors import NeuroAVError
from neuro_av.export.deployment_text import limit_note, plural
from neuro_av.io import save_npz, write_json, write_text

REPORT = "report.json"


class ReportError(NeuroAVError, ValueError):
    pass


def save_spikes(spikes: dict[str, dict], path: Path) -> None:
    """``<backend>/<layer>`` arrays [clips, T, N] (uint8) in the reference time alignment."""
    save_npz(path, {f"{b}/{layer}": s for b, layers in spikes.items() for layer, s in layers.items()},
             compressed=True)


def _fmt(x: float, unit: str = "") -> str:
    if x is None:
        return "—"
    for scale, prefix in ((1e-12, "p"), (1e-9, "n"), (1e-6, "µ"), (1e-3, "m"), (1, "")):
        if unit == "J" and abs(x) < scale * 1000:
            return f"{x / scale:.3g} {prefix}J"
    return f"{x:,.4g}{(' ' + unit) if unit else ''}"


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _plots(report: dict) -> dict[str, str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    backends = report["backends"]
    names = list(backends)
    layers = list(next(iter(backends.values()))["spikes"])
    plots = {}
    fig, ax = plt.subplots(figsize=(7, 3))
    width = 0.8 / len(names)
    for i, b in enumerate(names):
        ax.bar(np.arange(len(layers)) + i * width, [backends[b]["spikes"][l]["rate"] for l in layers], width, label=b)
    ax.set_xticks(np.arange(len(layers)) + 0.4 - width / 2, layers, rotation=20)
    ax.set_ylabel("firing rate (spikes / neuron / step)")
    ax.legend()
    plots["Firing rate per layer"] = _png(fig)

    raster = report.get("raster") or {}
    shown = [b for b in names if raster.get(b)]
    if shown:
        fig, axes = plt.subplots(1, len(shown), figsize=(4 * len(shown), 3.2), squeeze=False, sharey=True)
        for ax, b in zip(axes[0], shown):
            offset = 0
            for l in layers:
                pts = np.asarray(raster[b].get(l, []), dtype=float).reshape(-1, 2)
                ax.scatter(pts[:, 0], pts[:, 1] + offset, s=2, marker="|")
                offset += backends[b]["spikes"][l]["neurons"]
                ax.axhline(offset, color="0.8", lw=0.5)
            ax.set_title(b)
            ax.set_xlabel("time step")
        axes[0][0].set_ylabel("neuron (layers stacked)")
        plots["Spike raster of one clip"] = _png(fig)

    plots["Energy per clip"] = _png(_energy_figure(report, plt, np))
    for target, t in ((report.get("deployment") or {}).get("targets") or {}).items():
        plots[f"Core map on {target}"] = _png(_core_map(target, t, plt, np))

    if _has_accuracy(report):
        fig, ax = plt.subplots(figsize=(6, 3))
        keys = ("S", "U", "HM", "ZSL")
        for i, b in enumerate(names):
            ax.bar(np.arange(4) + i * width, [backends[b][k] for k in keys], width, label=b)
        ax.set_xticks(np.arange(4) + 0.4 - width / 2, keys)
        ax.set_ylabel("%")
        ax.legend()
        plots["Accuracy per backend"] = _png(fig)
    return plots


def _energy_figure(report: dict, plt, np):
    """Stacked bars per backend and table: the branch's parts, the ANN parts, and the link."""
    backends = report["backends"]
    link = (report.get("deployment") or {}).get("link")
    labels, stacks = [], []
    for b, r in backends.items():
        e = r["energy"]
        ann = (e.get("ann_parts") or {}).get("total")
        for table, n in e["neuromorphic"].items():
            labels.append(f"{b}\n{n.get('title', table)} op costs")
            stacks.append({**n["parts"], **({"ANN parts (45 nm fp32)": ann} if ann else {})})
        labels.append(f"{b}\ndense fp32")
        stacks.append({"dense MACs": e["dense_accelerator"]["total"], **({"ANN parts (45 nm fp32)": ann} if ann else {})})
    parts = list(dict.fromkeys(k for s in stacks for k in s))
    fig, ax = plt.subplots(figsize=(8, 3.4))
    base = np.zeros(len(labels))
    for part in parts:
        vals = np.array([s.get(part, 0.0) for s in stacks]) * 1e6
        ax.bar(range(len(labels)), vals, bottom=base, label=part)
        base += vals
    if link is not None:
        # a profile with a published (or user-given) energy per bit prices the link; the built-in ones have none
        targets = report["deployment"].get("targets") or {}
        priced = {n: t["link_energy_j_per_clip"] for n, t in targets.items()
                  if t.get("link_energy_j_per_clip") is not None}
        energy = ("energy " + ", ".join(f"{_fmt(v, 'J')} on {n}" for n, v in priced.items()) if priced
                  else "energy not modelled (no published energy per bit)")
        per_clip = link["bytes_per_clip"]
        text = f"host-chip link: {energy}"
        if per_clip.get("host_to_chip") is not None:
            text = (f"host-chip link: {per_clip['host_to_chip']:,.0f} B in + {per_clip['chip_to_host']:,.0f} B out "
                    f"per clip; {energy}")
        ax.bar(range(len(labels)), np.zeros(len(labels)), bottom=base, hatch="//", edgecolor="0.4", fill=False,
               label="link (energy in the title)" if priced else "link (not modelled)")
        ax.set_title(text, fontsize=8)
    ax.set_xticks(range(len(labels)), labels, fontsize=7)
    ax.set_ylabel("µJ per clip")
    ax.legend(fontsize=7)
    return fig


def _core_map(target: str, t: dict, plt, np):
    """Which population sits on which core (one square per core, chips of ``cores_per_chip``)."""
    pops = t["populations"]
    total = max(t["cores"], (t.get("cores_per_chip") or 0) * t["chips"], 1)  # the whole chip(s), used or not
    cols = 16
    rows = max(1, -(-total // cols))
    grid = np.full((rows, cols), -1.0)
    for i, p in enumerate(pops):
        for c in p["core_ids"]:
            grid[c // cols, c % cols] = i
    fig, ax = plt.subplots(figsize=(8, 0.5 + 0.45 * rows))
    cmap = plt.get_cmap("tab20", max(len(pops), 1))
    masked = np.ma.masked_less(grid, 0)
    ax.imshow(masked, cmap=cmap, vmin=-0.5, vmax=max(len(pops), 1) - 0.5, aspect="equal")
    for i, p in enumerate(pops):
        ax.plot([], [], "s", color=cmap(i),
                 label=f"{p['name']} ({plural(p['cores'], 'core')}, {limit_note(p)})")
    ax.set_xticks(np.arange(-0.5, cols), minor=True)
    ax.set_yticks(np.arange(-0.5, rows), minor=True)
    ax.grid(which="minor", color="0.85", lw=0.5)
    ax.tick_params(which="both", length=0, labelbottom=False, labelleft=False)
    verdict = "fits" if t["fits"] else "does not fit"
    bound = " (lower bound)" if t["cores_lower_bound"] else ""
    ax.set_title(f"{target}: {plural(t['cores'], 'core')}{bound} on {plural(t['chips'], 'chip')}; {verdict}", fontsize=9)
    ax.legend(fontsize=6, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return fig


def _deployment_md(dep: dict) -> list[str]:
    lines = ["## Deployment plan", ""]
    for name, t in dep["targets"].items():
        bound = " (a lower bound: the per-core limits are not published)" if t["cores_lower_bound"] else ""
        lines.append(f"- **{name}** ({t['title']}): {'fits' if t['fits'] else 'does not fit'}; "
                     f"{plural(t['cores'], 'core')}{bound} on {plural(t['chips'], 'chip')}")
        lines += [f"- {name}: does not fit because {v}" for v in t["violations"]]
        lines += [f"- {name}: note: {n}" for n in t["notes"]]
        if t["unchecked"]:
            lines.append(f"- {name}: not checked (no published figure): {', '.join(t['unchecked'])}")
    lines += ["", "| target | population | neurons | fan-in | synapses | weight bits | cores | limit |",
              "|---|---|---:|---:|---:|---:|---:|---|"]
    for name, t in dep["targets"].items():
        for p in t["populations"]:
            lines.append(f"| {name} | {p['name']} | {p['neurons']} | {p['fan_in']} | {p['synapses']:,} | "
                         f"{p['weight_bits']} | {p['cores']} | {limit_note(p)} |")
    lk = dep["link"]
    bits = lk["bits_per_step"]
    per_clip = lk["bytes_per_clip"]
    lines += ["", "Host-chip link (the network as exported):", "",
              "| per step | bits |", "|---|---:|",
              f"| host → chip: graded inputs | {bits['graded_inputs']:,} |",
              f"| host → chip: threshold streams | {bits['threshold_streams']:,} |",
              f"| host → chip: bias channels | {bits['bias_channels']:,} |",
              f"| chip → host ({', '.join(lk['host_reads'])}) | {bits['chip_to_host']:,} |", ""]
    if per_clip["host_to_chip"] is not None:
        lines.append(f"- per clip ({lk['steps_per_clip']} steps): host → chip {per_clip['host_to_chip']:,.0f} B, "
                     f"chip → host {per_clip['chip_to_host']:,.0f} B")
    lines += [f"- in real time (one step per {lk['dt_s']} s): {lk['realtime_bits_per_s'] / 1e6:,.3f} Mbit/s; with static "
              f"thresholds {lk['static_threshold']['realtime_bits_per_s'] / 1e6:,.3f} Mbit/s "
              f"(the threshold streams are {lk['threshold_stream_share']:.1%} of host → chip)"]
    for name, t in dep["targets"].items():
        lines.append(f"- {name}: " + (t["link_energy_note"] or f"link energy {_fmt(t['link_energy_j_per_clip'], 'J')} per clip"))
    lines += ["", "Sources of the hardware figures:", ""]
    for name, t in dep["targets"].items():
        lines += [f"- {name} {fig}: {src}" for fig, src in t["sources"].items()]
    return lines + [""]


def priced_profiles(report: dict) -> dict[str, str]:
    """profile name -> title of every profile the report priced the spiking branch with, in column order."""
    first = next(iter(report["backends"].values()))["energy"]["neuromorphic"]
    return {name: n.get("title", name) for name, n in first.items()}


def energy_caveats(report: dict, detail: bool = True) -> list[str]:
    """Why an energy column prices a network its chip cannot run, for each such profile."""
    targets = (report.get("deployment") or {}).get("targets") or {}
    out = []
    for name, title in priced_profiles(report).items():
        t = targets.get(name)
        if t is None or t["fits"]:
            continue
        if detail:
            out.append(f"{title} cannot run this network as exported ({'; '.join(t['violations'])}); its energy "
                       f"column prices the operations at the per-operation energies of its profile ({name}) all the same.")
        else:
            out.append(f"{title} cannot run this network as exported (see the plan); the {name} column prices "
                       "its operations all the same")
    return out


def _has_accuracy(report: dict) -> bool:
    return all("HM" in b for b in report["backends"].values())


def _fidelity_md(report: dict) -> list[str]:
    """Spike Dice per layer and backend against the reference, beside the reference's firing rate."""
    ref = report["reference"]
    rows = {n: b["fidelity"]["layers"] for n, b in report["backends"].items() if n != ref and "fidelity" in b}
    if not rows:
        return []
    out = ["", f"## Fidelity in spikes (vs {ref})", "",
           f"Dice = 2·shared / (spikes of both); after the slash, with ±1 step of tolerance; rate = {ref}'s spikes "
           "per neuron and step." + ("" if "class_agreement_vs_reference" not in next(iter(report["backends"].values()))
                                     else f" Predicted class as {ref}'s: " + ", ".join(
               f"{n} {b['class_agreement_vs_reference']:.2%}" for n, b in report["backends"].items() if n != ref) + "."),
           "", "| layer | rate | " + " | ".join(rows) + " |", "|---|---:|" + "---:|" * len(rows)]
    for layer in next(iter(rows.values())):
        rate = next(iter(rows.values()))[layer]["rate_ref"]
        cells = [f"{r[layer]['dice']:.4f} / {r[layer]['dice_1step']:.4f}" for r in rows.values()]
        out.append(f"| {layer} | {rate:.4f} | " + " | ".join(cells) + " |")
    out += [f"- warning: {w}" for w in report.get("warnings", [])]
    return out + _ladder_md(report)


def _ladder_md(report: dict) -> list[str]:
    """The fidelity ladder: each rung's Dice against the rung before it, per layer."""
    from neuro_av.export.fidelity import LADDER

    rungs = {n: report["backends"][n]["fidelity_vs_previous"] for n in LADDER
             if (report["backends"].get(n) or {}).get("fidelity_vs_previous")}
    if not rungs:
        return []
    out = ["", "### Fidelity ladder", "", f"{report['reference']} → quant-float (rounded parameters, float state) → "
           "torch-fixed (integer state) → lava-fixed: each rung's Dice against the rung before it.", "",
           "| layer | " + " | ".join(f"{n} vs {r['against']}" for n, r in rungs.items()) + " |",
           "|---|" + "---:|" * len(rungs)]
    for layer in next(iter(rungs.values()))["layers"]:
        out.append(f"| {layer} | " + " | ".join(f"{r['layers'][layer]['dice']:.4f}" for r in rungs.values()) + " |")
    tuned = report.get("finetuned")
    if tuned and tuned.get("equal_to_metrics_json"):
        out += ["", "Fine-tuned in fixed point: its own forward is torch-fixed; " + ", ".join(
            f"{n} {'equals' if ok else 'differs from'} the run's metrics.json S/U/HM/ZSL"
            for n, ok in tuned["equal_to_metrics_json"].items()) + "."]
    return out


def markdown(report: dict) -> str:
    b, ref = report["backends"], report["reference"]
    lines = ["# neuro-av co-simulation report", ""]
    if report["kind"] == "run":
        lines += [f"Run `{report['run']}` ({report['model']}), split **{report['split']}**, {report['clips']} clips, "
                  f"host `{report['host']}`, β* = {report['beta']}, T = {report['steps']} steps of {report['dt_s']} s.", ""]
    elif report["kind"] == "nir":
        lines += [f"NIR graph `{report['graph']}`, input `{report['input']}` ({report['clips']} clip(s)), "
                  f"dt = {report['dt_s']} s, {report['steps']} steps.", ""]
    else:
        lines += [f"Norse module `{report['module']}` ({report['clips']} clip(s)), dt = {report['dt_s']} s, "
                  f"{report['steps']} steps; the reference is its own forward pass.", ""]
        lines += [f"- deviation: {d}" for d in report.get("deviations", [])] + [""]
    acc = _has_accuracy(report)
    head = ["backend", *(["S", "U", "HM", "ZSL", f"Δ HM vs {ref}"] if acc else []), f"spike agreement vs {ref}",
            "spikes / clip", "spike events / clip", "graded input events / clip",
            *(f"energy / clip ({title} op costs)" for title in priced_profiles(report).values()), "SNN clips/s"]
    lines += ["| " + " | ".join(head) + " |", "|---|" + "---:|" * (len(head) - 1)]
    for n, r in b.items():
        cells = [n]
        if acc:
            delta = r.get("delta_vs_reference", {}).get("HM")
            cells += [f"{r[k]:.2f}" for k in ("S", "U", "HM", "ZSL")] + ["—" if delta is None else f"{delta:+.2f}"]
        rate = r.get("snn_clips_per_s")
        cells += [f"{r['spike_agreement_vs_reference']:.4%}", f"{r['totals']['spikes']:,.0f}",
                  f"{r['totals']['synops']:,.0f}", f"{r['totals']['graded_synops']:,.0f}",
                  *(_fmt(r["energy"]["neuromorphic"][p]["total"], "J") for p in priced_profiles(report)),
                  "—" if rate is None else f"{rate:,.1f}"]
        lines.append("| " + " | ".join(cells) + " |")
    lines += _fidelity_md(report)
    for caveat in energy_caveats(report):
        lines += ["", caveat]
    if report.get("simulated_files"):
        lines += ["", "Simulated files: " + ", ".join(f"`{f['path']}` (sha256 {f['sha256'][:12]}…)"
                                                       for f in report["simulated_files"].values())]
    first = next(iter(b.values()))
    lines += ["", "## Per layer (" + next(iter(b)) + ")", "",
              "| layer | neurons | depth | spikes | rate | SynOps (spike inputs) | graded input events | dense MACs | neuron updates |",
              "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for l, r in first["spikes"].items():
        lines.append(f"| {l} | {r['neurons']} | {r['depth']} | {r['spikes']:,.1f} | {r['rate']:.4f} | {r['synops']:,.0f} | "
                     f"{r['graded_synops']:,.0f} | {r['dense_macs']:,.0f} | {r['neuron_updates']:,.0f} |")
    e = first["energy"]
    lines += ["", "## Energy per clip (" + next(iter(b)) + ")", ""]
    for table, n in e["neuromorphic"].items():
        parts = ", ".join(f"{k} {_fmt(v, 'J')}" for k, v in n["parts"].items())
        lines.append(f"- spiking branch at {n.get('title', table)}'s per-operation energies: "
                     f"**{_fmt(n['total'], 'J')}** ({parts})")
    for name, n in e.get("not_priced", {}).items():
        lines.append(f"- {n['title']} ({name}): not priced — {n['reason']}")
    lines.append(f"- same layers as dense fp32 MACs (45 nm): **{_fmt(e['dense_accelerator']['total'], 'J')}**")
    lines.append(f"- Spikformer-style estimate: {_fmt(e['spikformer_style']['total'], 'J')} "
                 f"({e['spikformer_style']['note']})")
    if e.get("ann_parts"):
        lines.append(f"- ANN parts (pre + post) as fp32 MACs: {_fmt(e['ann_parts']['total'], 'J')}")
    gpu = report.get("gpu_energy")
    if isinstance(gpu, dict) and gpu.get("measured"):
        lines.append(f"- measured GPU energy of pre + post (NVML): {_fmt(gpu['joules_per_clip'], 'J')} per clip")
    else:
        why = gpu.get("reason") if isinstance(gpu, dict) else "see the shards' entries in report.json"
        lines.append(f"- measured GPU energy of pre + post: not measured ({why})")
    lines += ["", "Assumptions:", *[f"- {a}" for a in e["assumptions"]], "", "Sources:",
              *[f"- {t['name']}: {t['source']}" for t in report["energy_tables"]], ""]
    if report.get("deployment"):
        lines += _deployment_md(report["deployment"])
    if report.get("quantisation"):
        q = report["quantisation"]
        lines += ["## Fixed-point quantisation", "", f"config {q['config']}; each population's `scale` is its integer "
                  "threshold units per voltage unit", "", "| node | values |", "|---|---|"]
        lines += [f"| {k} | {', '.join(f'{a}={_fmt(v)}' for a, v in row.items())} |" for k, row in q["layers"].items()]
        lines.append("")
        for w in (q.get("saturation") or {}).get("warnings", []):
            lines.append(f"- warning: {w}")
        lines.append("")
    lines += ["Versions: " + ", ".join(f"{k} {v}" for k, v in report["versions"].items()), ""]
    return "\n".join(lines)


def _inline(text: str) -> str:
    text = html.escape(text)
    text = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", text)
    return re.sub(r"`(.+?)`", r"<code>\1</code>", text)


def md_to_html(md: str) -> str:
    """The Markdown subset :func:`markdown` writes: headings, pipe tables, bullet lists, paragraphs."""
    out, rows, items = [], [], []

    def flush():
        if rows:
            head, *body = rows
            out.append("<table><tr>" + "".join(f"<th>{_inline(c)}</th>" for c in head) + "</tr>"
                       + "".join("<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in r) + "</tr>" for r in body)
                       + "</table>")
            rows.clear()
        if items:
            out.append("<ul>" + "".join(f"<li>{_inline(i)}</li>" for i in items) + "</ul>")
            items.clear()

    for line in md.splitlines():
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            if not all(set(c) <= set("-:") for c in cells):
                rows.append(cells)
            continue
        if line.startswith("- "):
            items.append(line[2:])
            continue
        flush()
        if line.startswith("#"):
            level = len(line) - len(line.lstrip("#"))
            out.append(f"<h{level}>{_inline(line[level:].strip())}</h{level}>")
        elif line.strip():
            out.append(f"<p>{_inline(line)}</p>")
    flush()
    return "\n".join(out)


def html_page(report: dict, md: str) -> str:
    plots = _plots(report)
    body = [md_to_html(md)]
    for title, data in plots.items():
        body.append(f"<h2>{html.escape(title)}</h2><img alt='{html.escape(title)}' src='data:image/png;base64,{data}'/>")
    return ("<!doctype html><html><head><meta charset='utf-8'><title>neuro-av report</title>"
            "<style>body{font-family:sans-serif;max-width:1100px;margin:auto}img{max-width:100%}"
            "table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;padding:2px 6px;"
            "text-align:right}td:first-child,th:first-child{text-align:left}</style></head><body>"
            + "\n".join(body) + "</body></html>\n")


def write_report(report: dict, out_dir: Path) -> dict[str, Path]:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    write_json(report, out_dir / REPORT, indent=1)
    return render(out_dir)


def render(out_dir: Path) -> dict[str, Path]:
    out_dir = Path(out_dir)
    path = out_dir / REPORT
    if not path.is_file():
        raise ReportError(f"{path} does not exist: run `neuro-av sim ... --out {out_dir}` first")
    try:
        report = json.loads(path.read_text())
        md = markdown(report)
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise ReportError(f"{path} is not a neuro-av sim report ({type(exc).__name__}: {exc})") from None
    write_text(md, out_dir / "report.md")
    write_text(html_page(report, md), out_dir / "report.html")
    return {"json": path, "md": out_dir / "report.md", "html": out_dir / "report.html"}
