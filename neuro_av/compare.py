"""``neuro-av compare A B ...``: runs and sim reports side by side.

An input is a run folder (``metrics.json``, written by ``neuro-av train``; see :mod:`neuro_av.run`)
or a sim report folder (``report.json``, written by ``neuro-av sim``; see
:mod:`neuro_av.sim.folder`); a path to either file names its folder. Each input becomes one column of
rows in sections:

- accuracy: S, U, HM, ZSL (%) of the trained model (a run's ``metrics.json``) or of each backend
  (a sim report), with class agreement against the sim's reference;
- fidelity: per layer, each backend's spike Dice against the reference and each backend's firing
  rate (spikes per neuron and step);
- energy per clip: the spiking branch at each priced profile's per-operation energies and as dense
  fp32 MACs, the ANN parts, spike SynOps (spike events × non-zero fan-out), and NeuroBench's activation
  sparsity and effective ACs where the report carries them — all from the reference backend's spikes;
- plan: for each deployment target, whether the branch fits, on how many cores and chips, and what
  binds it (a sim report's plan, or a run's ``export/deployment.json``).

Inputs of the same kind whose configurations differ only in the training seed (``train_config.seed``
of ``config.json``, or of a report's ``train_config``; and, for sim reports, with the same split, clip
limit and backends) share one column: numbers as mean ± sample standard deviation over the seeds,
words where they agree (else every distinct one, joined by " / ").

The console table fits in ``width`` columns: with more inputs than fit, the columns are printed in
blocks, each repeating the row names. ``compare.md`` and ``compare.html`` (self-contained) carry the
same rows (:func:`rows` builds them once for all three).
"""
from __future__ import annotations

import html
import json
import statistics
from dataclasses import dataclass, field
from pathlib import Path

from neuro_av.errors import NeuroAVError
from neuro_av.io import FileFormatError, read_json, write_text

ACCURACY = ("S", "U", "HM", "ZSL")
MODEL = "model"  # a run's own metrics, in the accuracy rows
GENERIC_NAMES = {"sim", "export", "report", "out", "runs"}  # folder names that say little on their own
SEED_FREE = ("seed", "device")  # train_config keys that do not make two runs different experiments


class CompareError(NeuroAVError, ValueError):
    """An input of ``neuro-av compare`` that is neither a run nor a sim report folder."""


@dataclass
class Entry:
    """One input: its folder, kind (``run`` or ``sim``), seed, the key of its seed group and its
    cells (row -> number or words) by section."""

    path: Path
    kind: str
    seed: int | None
    group: str | None  # None: never pooled with another input
    cells: dict[str, dict[str, float | str]] = field(default_factory=dict)

    def add(self, section: str, row: str, value) -> None:
        if value is not None:
            self.cells.setdefault(section, {})[row] = value


@dataclass
class Column:
    label: str
    entries: list[Entry]

    @property
    def seeds(self) -> list:
        return [e.seed for e in self.entries]


# -- reading inputs ------------------------------------------------------------------------------

def _folder(path: Path) -> Path:
    if path.is_file() and path.name in ("report.json", "metrics.json"):
        return path.parent
    return path


def _json(path: Path, what: str) -> dict:
    try:
        data = read_json(path, what)
    except FileFormatError as exc:
        raise CompareError(str(exc)) from None
    if not isinstance(data, dict):
        raise CompareError(f"{what} {path} does not hold a JSON object")
    return data


def load_entry(path: Path) -> Entry:
    """A run folder or a sim report folder as an :class:`Entry`; anything else is a :class:`CompareError`."""
    given = Path(path)
    if not given.exists():
        raise CompareError(f"{given} does not exist: pass run folders (metrics.json) or sim report folders "
                           "(report.json)")
    folder = _folder(given)
    if (folder / "report.json").is_file():
        report = _json(folder / "report.json", "sim report")
        if not str(report.get("format", "")).startswith("neuro-av sim report"):
            raise CompareError(f"{folder / 'report.json'} is not a neuro-av sim report (its format is "
                               f"{report.get('format')!r})")
        try:
            return _sim_entry(folder, report)
        except (KeyError, TypeError, AttributeError) as exc:
            raise CompareError(f"{folder / 'report.json'} lacks what a sim report holds ({type(exc).__name__}: "
                               f"{exc}); run `neuro-av sim` again") from None
    if (folder / "metrics.json").is_file():
        return _run_entry(folder)
    if (folder / "config.json").is_file():
        raise CompareError(f"{folder} is a run without metrics.json (unfinished?): let `neuro-av train` finish "
                           "or pass another folder")
    raise CompareError(f"{folder} is neither a run folder (metrics.json) nor a sim report folder (report.json)")


def _key(*parts) -> str:
    return json.dumps(parts, sort_keys=True, default=str)


def _seed_free(train_config: dict | None) -> dict:
    return {k: v for k, v in (train_config or {}).items() if k not in SEED_FREE}


def _run_entry(folder: Path) -> Entry:
    metrics = _json(folder / "metrics.json", "metrics file")
    config = _json(folder / "config.json", "run config") if (folder / "config.json").is_file() else {}
    train = config.get("train_config") or {}
    group = _key("run", config.get("model_name"), config.get("model_config"), config.get("data_config"),
                 _seed_free(train)) if config else None
    e = Entry(folder, "run", train.get("seed"), group)
    e.add("info", "model", metrics.get("model") or config.get("model_name"))
    e.add("info", "kind", "run")
    for k in ACCURACY:
        e.add("accuracy", f"{k} {MODEL}", _number(metrics.get(k)))
    costs = metrics.get("costs") or {}
    e.add("energy", "SynOps (spike events)", _number(costs.get("snn_synops")))
    deployment = folder / "export" / "deployment.json"
    if deployment.is_file():
        _plan_cells(e, _json(deployment, "deployment plan"))
    return e


def _sim_entry(folder: Path, report: dict) -> Entry:
    backends = report["backends"]
    ref = report.get("reference")
    train = report.get("train_config")
    group = None
    if report.get("kind") == "run" and train is not None:
        group = _key("sim", report.get("model"), report.get("model_config"), _seed_free(train), report.get("split"),
                     report.get("limit"), sorted(backends))
    e = Entry(folder, "sim", (train or {}).get("seed"), group)
    e.add("info", "model", report.get("model") or report.get("graph") or report.get("module"))
    e.add("info", "kind", f"sim ({report.get('kind')})")
    e.add("info", "clips", None if report.get("clips") is None else str(report["clips"]))
    if report.get("split"):
        e.add("info", "split", report["split"])
    for k in ACCURACY:
        for name, b in backends.items():
            e.add("accuracy", f"{k} {name}", _number(b.get(k)))
    for name, b in backends.items():
        if name != ref:
            e.add("accuracy", f"class agreement {name}", _percent(b.get("class_agreement_vs_reference")))
    layers = list(dict.fromkeys(k for b in backends.values() for k in (b.get("spikes") or {})))
    for layer in layers:  # per layer: each backend's rate, and its Dice against the reference
        for name, b in backends.items():
            e.add("fidelity", f"rate {layer} {name}", _number(((b.get("spikes") or {}).get(layer) or {}).get("rate")))
            if name != ref:
                f = ((b.get("fidelity") or {}).get("layers") or {}).get(layer) or {}
                e.add("fidelity", f"Dice {layer} {name}", _number(f.get("dice")))
    _energy_cells(e, backends.get(ref) or next(iter(backends.values())), (report.get("neurobench") or {}), ref)
    if report.get("deployment"):
        _plan_cells(e, report["deployment"])
    return e


def _number(x):
    return float(x) if isinstance(x, (int, float)) and not isinstance(x, bool) else None


def _percent(x):
    return None if _number(x) is None else 100.0 * x


def _energy_cells(e: Entry, b: dict, neurobench: dict, ref: str | None) -> None:
    energy = b.get("energy") or {}
    for n in (energy.get("neuromorphic") or {}).values():
        e.add("energy", f"µJ at {n.get('profile')} op costs", _micro(n.get("total")))
    e.add("energy", "µJ as dense fp32 MACs", _micro((energy.get("dense_accelerator") or {}).get("total")))
    e.add("energy", "µJ ANN parts (fp32 MACs)", _micro((energy.get("ann_parts") or {}).get("total")))
    e.add("energy", "SynOps (spike events)", _number((b.get("totals") or {}).get("synops")))
    work = (neurobench.get("workload") or {}).get(ref) or {}
    e.add("energy", "NeuroBench ActivationSparsity", _number(work.get("ActivationSparsity")))
    e.add("energy", "NeuroBench Effective_ACs", _number((work.get("SynapticOperations") or {}).get("Effective_ACs")))


def _micro(joules):
    return None if _number(joules) is None else joules * 1e6


def _plan_cells(e: Entry, deployment: dict) -> None:
    from neuro_av.export.deployment_text import limit_note, plural

    for name, t in (deployment.get("targets") or {}).items():
        at_least = "≥" if t.get("cores_lower_bound") else ""
        where = f"{at_least}{plural(t.get('cores', 0), 'core')}, {plural(t.get('chips', 0), 'chip')}"
        e.add("plan", name, f"fits: {where}" if t.get("fits") else f"does not fit: {where}")
        if t.get("violations"):
            e.add("plan", f"{name} why not", "; ".join(t["violations"]))
        bound = [f"{p['name']} {limit_note(p)}" for p in t.get("populations") or [] if p.get("binding_limit")]
        if bound:
            e.add("plan", f"{name} binds", "; ".join(bound))


# -- columns and rows ----------------------------------------------------------------------------

def load(paths: list[Path], pool_seeds: bool = True) -> list[Column]:
    """The inputs as columns: those that differ only in their seed pooled (unless ``pool_seeds`` is False)."""
    if not paths:
        raise CompareError("name at least one run or sim report folder")
    entries = [load_entry(Path(p)) for p in paths]
    groups: list[list[Entry]] = []
    for e in entries:
        home = next((g for g in groups if pool_seeds and e.group is not None and g[0].group == e.group
                     and e.seed is not None and e.seed not in [x.seed for x in g]), None)
        if home is None:
            groups.append([e])
        else:
            home.append(e)
    labels = _labels([g[0].path for g in groups])
    return [Column(label if len(g) == 1 else f"{label} ×{len(g)}", g) for label, g in zip(labels, groups)]


def _labels(paths: list[Path]) -> list[str]:
    def short(p: Path, depth: int) -> str:
        parts = p.resolve().parts[-depth:]
        return "/".join(parts)

    labels = []
    for p in paths:
        depth = 2 if p.resolve().name in GENERIC_NAMES else 1
        labels.append(short(p, depth))
    for i, label in enumerate(labels):  # the same name twice: the folder above tells them apart
        if labels.count(label) > 1:
            same = [j for j, x in enumerate(labels) if x == label]
            for j in same:
                labels[j] = short(paths[j], label.count("/") + 2)
    seen: dict[str, int] = {}
    out = []
    for label in labels:
        seen[label] = seen.get(label, 0) + 1
        out.append(label if seen[label] == 1 else f"{label} #{seen[label]}")
    return out


SECTIONS = {"info": "input", "accuracy": "accuracy (%)", "fidelity": "fidelity in spikes (Dice vs the reference; "
            "rate: spikes per neuron and step)", "energy": "energy and operations per clip (a sim's: of its reference backend's spikes)",
            "plan": "deployment plan"}
DIGITS = {"accuracy": 2, "energy": 3}


def _fmt(x: float, section: str, row: str) -> str:
    if row.startswith(("Dice", "rate", "NeuroBench ActivationSparsity")):
        return f"{x:.4f}"
    if row in ("clips",) or row.startswith(("SynOps", "NeuroBench Effective")):
        return f"{x:,.0f}"
    return f"{x:.{DIGITS.get(section, 3)}g}" if section == "energy" else f"{x:.{DIGITS.get(section, 3)}f}"


def cell(column: Column, section: str, row: str) -> str:
    """The column's value of a row: one input's, or mean ± std (numbers) / the distinct words of a group."""
    values = [e.cells.get(section, {}).get(row) for e in column.entries]
    present = [v for v in values if v is not None]
    if not present:
        return "—"
    if all(isinstance(v, float) for v in present):
        text = _fmt(statistics.fmean(present), section, row)
        if len(present) > 1:
            text += f" ± {_fmt(statistics.stdev(present), section, row)}"
        return text + (f" ({len(present)} of {len(values)})" if len(present) < len(values) else "")
    words = list(dict.fromkeys(str(v) for v in present))
    return " / ".join(words)


def rows(columns: list[Column]) -> list[tuple[str, list[tuple[str, list[str]]]]]:
    """[(section title, [(row name, [cell per column])])], rows in the order the inputs first name them."""
    out = []
    for section, title in SECTIONS.items():
        names = list(dict.fromkeys(r for c in columns for e in c.entries for r in e.cells.get(section, {})))
        if section == "accuracy":  # S rows, then U, HM, ZSL, then class agreement
            names.sort(key=lambda r: (next((i for i, k in enumerate(ACCURACY) if r.startswith(f"{k} ")), len(ACCURACY)),
                                      not r.endswith(f" {MODEL}")))
        if names:
            out.append((title, [(r, [cell(c, section, r) for c in columns]) for r in names]))
    return out


def legend(columns: list[Column]) -> list[tuple[str, list[str]]]:
    """[(column label and what it pools, [its input folders])]."""
    out = []
    for c in columns:
        seeds = [s for s in c.seeds if s is not None]
        if len(c.entries) > 1:
            what = f"{c.label}: mean ± std over seeds {', '.join(map(str, seeds))}"
        else:
            what = f"{c.label}: seed {seeds[0]}" if seeds else f"{c.label}:"
        out.append((what, [str(e.path) for e in c.entries]))
    return out


# -- rendering -----------------------------------------------------------------------------------

CELL_MAX = 30  # console only: a longer cell (a plan's reasons) is cut, in full in compare.md / .html


def console(columns: list[Column], width: int = 100) -> list[str]:
    """The table as lines of at most ``width`` columns: column blocks that fit, row names repeated;
    cells cut at :data:`CELL_MAX` characters."""
    table = [(t, [(r, [_clip(x, CELL_MAX) for x in cells]) for r, cells in rs]) for t, rs in rows(columns)]
    all_rows = [r for _, rs in table for r in rs]
    name_w = min(max([len(r) for r, _ in all_rows] + [5]), width // 2)
    widths = [max([len(c.label)] + [len(cells[i]) for _, cells in all_rows]) for i, c in enumerate(columns)]
    blocks, block, used = [], [], name_w
    for i, w in enumerate(widths):
        w = min(w, width - name_w - 2)
        if block and used + 2 + w > width:
            blocks.append(block)
            block, used = [], name_w
        block.append((i, w))
        used += 2 + w
    blocks.append(block)
    out = []
    for n, block in enumerate(blocks):
        if n:
            out.append("")
        out.append(_clip("".ljust(name_w) + "".join("  " + columns[i].label[:w].rjust(w) for i, w in block), width))
        for title, rs in table:
            out.append(_clip(title, width))
            for r, cells in rs:
                out.append(_clip(r[:name_w].ljust(name_w) + "".join("  " + cells[i][:w].rjust(w) for i, w in block),
                                 width))
    out.append("")
    for what, paths in legend(columns):  # paths are never cut
        out += [_clip(what, width), *(f"  {p}" for p in paths)]
    return out


def _clip(line: str, width: int) -> str:
    return line if len(line) <= width else line[:width - 1] + "…"


def markdown(columns: list[Column]) -> str:
    lines = ["# neuro-av compare", ""]
    for title, rs in rows(columns):
        lines += [f"## {title}", "", "| | " + " | ".join(c.label for c in columns) + " |",
                  "|---|" + "---:|" * len(columns)]
        lines += [f"| {_md(r)} | " + " | ".join(map(_md, cells)) + " |" for r, cells in rs]
        lines.append("")
    lines += ["## inputs", ""] + [f"- {_md(what)} " + ", ".join(f"`{p}`" for p in paths) for what, paths in legend(columns)] + [""]
    return "\n".join(lines)


def _md(text: str) -> str:
    return text.replace("|", "\\|")


def html_page(columns: list[Column]) -> str:
    esc = html.escape
    body = ["<h1>neuro-av compare</h1>"]
    for title, rs in rows(columns):
        body.append(f"<h2>{esc(title)}</h2><table><tr><th></th>" + "".join(f"<th>{esc(c.label)}</th>" for c in columns)
                    + "</tr>" + "".join("<tr><td>" + esc(r) + "</td>" + "".join(f"<td>{esc(x)}</td>" for x in cells)
                                        + "</tr>" for r, cells in rs) + "</table>")
    body.append("<h2>inputs</h2><ul>" + "".join(f"<li>{esc(what)} " + ", ".join(f"<code>{esc(p)}</code>" for p in paths)
                                                + "</li>" for what, paths in legend(columns)) + "</ul>")
    return ("<!doctype html><html><head><meta charset='utf-8'><title>neuro-av compare</title><style>"
            "body{font-family:sans-serif;max-width:1100px;margin:auto}table{border-collapse:collapse;font-size:13px}"
            "td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}td:first-child{text-align:left}"
            "</style></head><body>" + "\n".join(body) + "</body></html>\n")


def write(columns: list[Column], out_dir: Path) -> dict[str, Path]:
    """``compare.md`` and ``compare.html`` in ``out_dir`` (each written to a temporary file, then renamed)."""
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise CompareError(f"--out {out_dir} is a file, not a folder")
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"md": out_dir / "compare.md", "html": out_dir / "compare.html"}
    write_text(markdown(columns), paths["md"])
    write_text(html_page(columns), paths["html"])
    return paths
