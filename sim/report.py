"""``report.json`` → ``report.md`` and a self-contained ``report.html`` (plots inlined as PNG).

Everything is rendered from the JSON alone, so ``neuro-av report DIR`` re-renders a finished run.
Both lead with the findings in sentences (:mod:`neuro_av.sim.report_verdicts`) and a table of
contents; then one section per topic (accuracy, fidelity, per layer, energy, plan), each figure
(:mod:`neuro_av.sim.report_plots`) right after the table it illustrates; quantisation details and
sources last, collapsed in the HTML.
"""
from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import NamedTuple

from neuro_av.errors import NeuroAVError
from neuro_av.export.deployment_text import limit_note, plural
from neuro_av.io import save_npz, write_json, write_text
from neuro_av.sim.report_verdicts import PART_LABELS, joule, limit_words, verdicts, weight_histograms

REPORT = "report.json"


class ReportError(NeuroAVError, ValueError):
    pass


def save_spikes(spikes: dict[str, dict], path: Path) -> None:
    """``<backend>/<layer>`` arrays [clips, T, N] (uint8) in the reference time alignment."""
    save_npz(path, {f"{b}/{layer}": s for b, layers in spikes.items() for layer, s in layers.items()},
             compressed=True)


def _fmt(x: float, unit: str = "") -> str:
    """Energies (``unit="J"``) in µJ, the console's and the figures' unit; other numbers to 4 figures."""
    if x is None:
        return "—"
    if unit == "J":
        return joule(x)
    return f"{x:,.4g}{(' ' + unit) if unit else ''}"


class Figure(NamedTuple):
    """A figure of :mod:`neuro_av.sim.report_plots` placed at this point of a section (HTML only)."""
    key: str


class Section(NamedTuple):
    id: str
    title: str
    blocks: list  # Markdown lines and Figure entries, in reading order
    collapsed: bool = False  # folded into <details> in the HTML


def _words(key: str) -> str:
    return key.replace("_", " ")


def _plan_md(dep: dict) -> list[str]:
    lines = []
    for name, t in dep["targets"].items():
        bound = " (a lower bound: the per-core limits are not published)" if t["cores_lower_bound"] else ""
        lines += [f"### {t['title']} (`{name}`)", "",
                  f"- {'fits' if t['fits'] else '**does not fit**'}; {plural(t['cores'], 'core')}{bound} "
                  f"on {plural(t['chips'], 'chip')}"]
        lines += [f"- does not fit because {v}" for v in t["violations"]]
        lines += [f"- note: {n}" for n in t["notes"]]
        if t["unchecked"]:
            lines.append(f"- not checked (no published figure): {', '.join(map(limit_words, t['unchecked']))}")
        limits = list(dict.fromkeys(lim for p in t["populations"] for lim in p["utilisation"]))
        lines += ["", "| population | neurons | fan-in | synapses | weight bits | cores | "
                  + "".join(f"{limit_words(lim)} | " for lim in limits) + "limit |",
                  "|---|---:|---:|---:|---:|---:|" + "---:|" * len(limits) + "---|"]
        for p in t["populations"]:
            use = [f"{p['utilisation'][lim]:.1%}" if lim in p["utilisation"] else "—" for lim in limits]
            lines.append(f"| {p['name']} | {p['neurons']:,} | {p['fan_in']:,} | {p['synapses']:,} | {p['weight_bits']} | "
                         f"{p['cores']} | " + "".join(f"{u} | " for u in use) + f"{limit_note(p)} |")
        lines.append("")
    lk = dep["link"]
    bits = lk["bits_per_step"]
    per_clip = lk["bytes_per_clip"]
    lines += ["### Host-chip link (the network as exported)", "",
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
    out = [f"Dice = 2·shared / (spikes of both) per layer; after the slash, within ±1 step of tolerance; "
           f"firing rate = {ref}'s spikes per neuron and step.",
           "", "| layer | firing rate | " + " | ".join(rows) + " |", "|---|---:|" + "---:|" * len(rows)]
    for layer in next(iter(rows.values())):
        rate = next(iter(rows.values()))[layer]["rate_ref"]
        cells = [f"{r[layer]['dice']:.4f} / {r[layer]['dice_1step']:.4f}" for r in rows.values()]
        out.append(f"| {layer} | {rate:.2%} | " + " | ".join(cells) + " |")
    out += [f"- warning: {w}" for w in report.get("warnings", [])]
    return out


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


def _header(report: dict) -> list[str]:
    if report["kind"] == "run":
        return [f"Run `{report['run']}` ({report['model']}), split **{report['split']}**, {report['clips']} clips, "
                f"host `{report['host']}`, β* = {report['beta']}, T = {report['steps']} steps of {report['dt_s']} s."]
    if report["kind"] == "nir":
        return [f"NIR graph `{report['graph']}`, input `{report['input']}` ({report['clips']} clip(s)), "
                f"dt = {report['dt_s']} s, {report['steps']} steps."]
    return [f"Norse module `{report['module']}` ({report['clips']} clip(s)), dt = {report['dt_s']} s, "
            f"{report['steps']} steps; the reference is its own forward pass.",
            *(f"- deviation: {d}" for d in report.get("deviations", []))]


def _backends_md(report: dict) -> list[str]:
    b, ref = report["backends"], report["reference"]
    acc = _has_accuracy(report)
    head = ["backend", *(["S", "U", "HM", "ZSL", f"Δ HM vs {ref}"] if acc else []), f"spike agreement vs {ref}",
            f"class as {ref}'s", f"embedding change vs {ref}", "spikes / clip", "spike events / clip", "graded input events / clip",
            *(f"energy / clip ({title} op costs)" for title in priced_profiles(report).values()), "SNN clips/s"]
    lines = ["| " + " | ".join(head) + " |", "|---|" + "---:|" * (len(head) - 1)]
    for n, r in b.items():
        cells = [n]
        if acc:
            delta = r.get("delta_vs_reference", {}).get("HM")
            cells += [f"{r[k]:.2f}" for k in ("S", "U", "HM", "ZSL")] + ["—" if delta is None else f"{delta:+.2f}"]
        rate, agree = r.get("snn_clips_per_s"), r.get("class_agreement_vs_reference")
        change = r.get("embedding_rel_change_vs_reference")
        cells += [f"{r['spike_agreement_vs_reference']:.4%}", "—" if agree is None else f"{agree:.2%}",
                  "—" if change is None or n == ref else f"{change:.2%}",
                  f"{r['totals']['spikes']:,.0f}", f"{r['totals']['synops']:,.0f}", f"{r['totals']['graded_synops']:,.0f}",
                  *(_fmt(r["energy"]["neuromorphic"][p]["total"], "J") for p in priced_profiles(report)),
                  "—" if rate is None else f"{rate:,.1f}"]
        lines.append("| " + " | ".join(cells) + " |")
    note = [f"Embedding change = ‖e − e_{ref}‖ / ‖e_{ref}‖ of the clip embeddings the host computes from each "
            "backend's spikes, over all clips (the largest of the model's embedding parts).", ""]
    return lines + [""] + note + (_spread_md(report) if acc else []) + [f"{c}" for c in energy_caveats(report)]


def _spread_md(report: dict) -> list[str]:
    """The bootstrap intervals, one row per group of backends with equal intervals."""
    boot, ref = report.get("bootstrap"), report["reference"]
    if not boot:
        return []
    keys = ("S", "U", "HM", "ZSL")
    rows: dict[tuple, list[str]] = {}
    for n, r in report["backends"].items():
        d = (r.get("delta_interval_vs_reference") or {}).get("HM")
        rows.setdefault((tuple(tuple(r["interval"][k]) for k in keys), tuple(d) if d else None), []).append(n)
    out = [f"Spread over the test clips: {boot['level'] * 100:g} % intervals of a {boot['method']} "
           f"({boot['resamples']:,} resamples of the {report['clips']:,} clips, β fixed). Δ's interval is paired: "
           "the same resamples for every backend, so it is usually narrower than the two intervals side by side. This is "
           "the spread of the test clips, not of training: compare runs of other seeds for that "
           "(`neuro-av compare`).", "",
           "| backends | S | U | HM | ZSL | " + f"Δ HM vs {ref} (paired) |", "|---|---:|---:|---:|---:|---:|"]
    for (spans, d), names in rows.items():
        delta = "—" if d is None else "0 on every resample" if d == (0.0, 0.0) else f"{d[0]:+.2f} … {d[1]:+.2f}"
        out.append(f"| {', '.join(names)} | " + " | ".join(f"{lo:.2f} … {hi:.2f}" for lo, hi in spans) + f" | {delta} |")
    return out + [""]


def _layers_md(report: dict) -> list[str]:
    ref = report["reference"]
    lines = [f"Counts per clip of {ref}, the reference.", "",
             "| layer | neurons | depth | spikes | firing rate | SynOps (spike inputs) | graded input events | "
             "dense MACs | neuron updates |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for l, r in report["backends"][ref]["spikes"].items():
        lines.append(f"| {l} | {r['neurons']} | {r['depth']} | {r['spikes']:,.1f} | {r['rate']:.2%} | {r['synops']:,.0f} | "
                     f"{r['graded_synops']:,.0f} | {r['dense_macs']:,.0f} | {r['neuron_updates']:,.0f} |")
    return lines


def _energy_md(report: dict) -> list[str]:
    ref = report["reference"]
    e = report["backends"][ref]["energy"]
    lines = [f"Per clip, from {ref}'s operation counts (the other backends' totals are in the accuracy table).", "",
             "| what | energy / clip | share |", "|---|---:|---:|"]
    for table, n in e["neuromorphic"].items():
        lines.append(f"| **spiking branch at {n.get('title', table)}'s per-operation energies** | "
                     f"**{_fmt(n['total'], 'J')}** | 100 % |")
        lines += [f"| {PART_LABELS.get(k, _words(k))} | {_fmt(v, 'J')} | {v / n['total']:.1%} |"
                  for k, v in n["parts"].items()]
    lines.append(f"| same layers as dense fp32 MACs (45 nm) | {_fmt(e['dense_accelerator']['total'], 'J')} | |")
    lines.append(f"| Spikformer-style estimate ({e['spikformer_style']['note']}) | "
                 f"{_fmt(e['spikformer_style']['total'], 'J')} | |")
    if e.get("ann_parts"):
        lines.append(f"| host: ANN parts (pre + post) as fp32 MACs | {_fmt(e['ann_parts']['total'], 'J')} | |")
    gpu = report.get("gpu_energy")
    if isinstance(gpu, dict) and gpu.get("measured"):
        lines.append(f"| measured GPU energy of pre + post (NVML) | {_fmt(gpu['joules_per_clip'], 'J')} | |")
    lines.append("")
    for name, n in e.get("not_priced", {}).items():
        lines.append(f"- {n['title']} ({name}): not priced — {n['reason']}")
    if "gpu_energy" in report and not (isinstance(gpu, dict) and gpu.get("measured")):
        why = gpu.get("reason") if isinstance(gpu, dict) else "see the shards' entries in report.json"
        lines.append(f"- measured GPU energy of pre + post: not measured ({why})")
    return lines


def _quantisation_md(q: dict) -> list[str]:
    lines = [f"Config: {', '.join(f'{_words(k)} {v}' for k, v in q['config'].items())}; each population's scale is "
             "its integer threshold units per voltage unit.", ""]
    kinds: dict[tuple, list[str]] = {}
    for node, row in q["layers"].items():
        kinds.setdefault(tuple(k for k, v in row.items() if not isinstance(v, dict)), []).append(node)
    for keys, nodes in kinds.items():
        lines += ["| node | " + " | ".join(map(_words, keys)) + " |", "|---|" + "---:|" * len(keys)]
        lines += [f"| {n} | " + " | ".join(_fmt(q["layers"][n][k]) for k in keys) + " |" for n in nodes] + [""]
    hist = weight_histograms({"quantisation": q})
    if hist:
        lines += ["Each synapse's non-zero weights after rounding (step: the spacing of deployable weights, in the "
                  "float model's units):", "", "| synapse | non-zero weights | step | rounded to zero | clipped |",
                  "|---|---:|---:|---:|---:|"]
        lines += [f"| {n} | {h['values']:,} | {h['step']:.3g} | {h['rounded_to_zero']:,} ({h['rounded_to_zero'] / h['values']:.2%}) | "
                  f"{h['error']['below'] + h['error']['above']:,} |" for n, h in hist.items()] + [""]
    search = q.get("search")
    if search:
        lines.append(f"- chosen by spike Dice on the input ({search['candidates']} candidates): Dice "
                     f"{search['rule_dice']:.4f} by the fixed rule, {search['chosen_dice']:.4f} chosen")
    lines += [f"- warning: {w}" for w in (q.get("saturation") or {}).get("warnings", [])]
    return lines


def _sources_md(report: dict) -> list[str]:
    e = report["backends"][report["reference"]]["energy"]
    lines = ["Energy assumptions:", "", *[f"- {a}" for a in e["assumptions"]], "", "Energy tables:", "",
             *[f"- {t['name']}: {t['source']}" for t in report["energy_tables"]], ""]
    for name, t in ((report.get("deployment") or {}).get("targets") or {}).items():
        lines += [f"Hardware figures of {t['title']} (`{name}`):", "",
                  *[f"- {limit_words(fig)}: {src}" for fig, src in t["sources"].items()], ""]
    if report.get("simulated_files"):
        lines += ["Simulated files:", "", *[f"- `{f['path']}` (sha256 {f['sha256'][:12]}…)"
                                            for f in report["simulated_files"].values()], ""]
    if report.get("train_config"):
        lines += ["Training settings: " + ", ".join(f"{_words(k)} {v}" for k, v in report["train_config"].items()), ""]
    return lines + ["Versions: " + ", ".join(f"{k} {v}" for k, v in report["versions"].items()), ""]


def sections(report: dict) -> list[Section]:
    """The report's sections after the findings, in reading order."""
    acc = "Accuracy and agreement per backend" if _has_accuracy(report) else "Agreement per backend"
    out = [Section("backends", acc, [_backends_md(report), Figure("accuracy")])]
    fidelity = _fidelity_md(report)
    if fidelity:
        out.append(Section("fidelity", f"Fidelity in spikes (vs {report['reference']})",
                           [fidelity, Figure("fidelity"), _ladder_md(report), Figure("raster")]))
    out += [Section("layers", "Per layer", [_layers_md(report)]),
            Section("energy", "Energy per clip", [_energy_md(report), Figure("energy")])]
    if report.get("deployment"):
        out.append(Section("plan", "Deployment plan", [_plan_md(report["deployment"]), Figure("plan")]))
    if report.get("quantisation"):
        out.append(Section("quantisation", "Fixed-point quantisation",
                           [_quantisation_md(report["quantisation"]), Figure("quantisation"),
                            Figure("quantisation_histograms")], collapsed=True))
    return out + [Section("sources", "Sources, assumptions and versions", [_sources_md(report)], collapsed=True)]


def markdown(report: dict) -> str:
    parts = sections(report)
    lines = ["# neuro-av co-simulation report", "", *_header(report), "", "## Findings", "",
             *(f"- {v}" for v in verdicts(report)), "",
             "Contents: " + " · ".join(s.title for s in parts), ""]
    for s in parts:
        lines += [f"## {s.title}", ""]
        for block in s.blocks:
            if not isinstance(block, Figure):
                lines += [*block, ""]
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


STYLE = ("body{font-family:sans-serif;max-width:1100px;margin:auto;padding:0 12px;color:#222}"
         "img{max-width:100%;display:block;margin:8px 0 16px}h1{font-size:22px;margin:12px 0 4px}"
         "h2{font-size:18px;border-bottom:1px solid #ddd;margin-top:28px}h3{font-size:15px}"
         "#verdicts{background:#f4f7fb;border:1px solid #c9d6e8;border-radius:6px;padding:4px 14px;"
         "font-size:14px;line-height:1.4}#verdicts h2{border:0;margin:6px 0}#verdicts ul{margin:4px 0;"
         "padding-left:18px}#verdicts li{margin:3px 0}nav{font-size:13px;margin:8px 0}nav a{margin-right:12px}"
         "table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;padding:2px 6px;"
         "text-align:right}td:first-child,th:first-child{text-align:left}td:first-child{white-space:nowrap}"
         "summary{font-size:18px;font-weight:bold;"
         "cursor:pointer;margin-top:28px}p,li{font-size:14px}")


def html_page(report: dict, spikes: dict | None = None) -> str:
    from neuro_av.sim.report_plots import plots

    figures, parts = plots(report, spikes), sections(report)
    body = ["<h1>neuro-av co-simulation report</h1>", md_to_html("\n".join(_header(report))),
            "<section id='verdicts'><h2>Findings</h2><ul>"
            + "".join(f"<li>{_inline(v)}</li>" for v in verdicts(report)) + "</ul></section>",
            "<nav id='contents'>Contents: " + "".join(f"<a href='#{s.id}'>{html.escape(s.title)}</a>" for s in parts)
            + "</nav>"]
    for s in parts:
        inner = []
        for block in s.blocks:
            if isinstance(block, Figure):
                if block.key in figures:
                    title, data = figures[block.key]
                    inner.append(f"<figure><img alt='{html.escape(title)}' title='{html.escape(title)}' "
                                 f"src='data:image/png;base64,{data}'/></figure>")
            else:
                inner.append(md_to_html("\n".join(block)))
        content = "\n".join(inner)
        title = html.escape(s.title)
        body.append(f"<section id='{s.id}'>" + (f"<details><summary>{title}</summary>{content}</details>"
                                                  if s.collapsed else f"<h2>{title}</h2>{content}") + "</section>")
    return ("<!doctype html><html><head><meta charset='utf-8'><title>neuro-av report</title>"
            f"<style>{STYLE}</style></head><body>" + "\n".join(body) + "</body></html>\n")


def _saved_spikes(path: Path) -> dict | None:
    """``spikes.npz`` beside the report as ``{backend: {layer: array}}``, or None where there is none."""
    if not path.is_file():
        return None
    import numpy as np

    with np.load(path) as z:
        out: dict[str, dict] = {}
        for key in z.files:
            backend, layer = key.split("/", 1)
            out.setdefault(backend, {})[layer] = z[key]
    return out


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
        if isinstance(report, dict) and isinstance(report.get("backends"), dict) and not report["backends"]:
            raise ReportError(f"{path} holds no backend's results (its 'backends' is empty): run `neuro-av sim` "
                              "again with at least one --backend")
        md = markdown(report)
    except (json.JSONDecodeError, KeyError, TypeError, AttributeError, StopIteration) as exc:
        raise ReportError(f"{path} is not a neuro-av sim report ({type(exc).__name__}: {exc})") from None
    write_text(md, out_dir / "report.md")
    write_text(html_page(report, _saved_spikes(out_dir / "spikes.npz")), out_dir / "report.html")
    return {"json": path, "md": out_dir / "report.md", "html": out_dir / "report.html"}
