"""The deployment plan as text for the terminal (``neuro-av plan``, and the ``plan:`` lines of
``neuro-av export`` and ``neuro-av sim``): lines of at most ``width`` columns, the populations first,
then the host-chip link, then one line of advice per target the network does not fit.
"""
from __future__ import annotations

import textwrap

from neuro_av.export.placement import BINDS_AT, CHIP_AVERAGE

# limit -> (table column, words in a sentence)
LIMITS = {"neurons_per_core": ("neurons", "neurons per core"),
          "input_axons_per_core": ("axons in", "input axons per core"),
          "synapse_memory_bits_per_core": ("memory", "synaptic memory per core"),
          "output_axons_per_core": ("axons out", "output axons per core"),
          CHIP_AVERAGE: ("neurons (avg)", "the chip's average neurons per core"),
          "cores_per_chip": ("cores", "cores per chip")}


def plural(n: int, word: str) -> str:
    return f"{n:,} {word}" + ("" if n == 1 else "s")


def few(names: list[str], at_most: int = 2) -> str:
    """The names, or the first few and how many more."""
    if len(names) <= at_most:
        return ", ".join(names)
    return ", ".join(names[:at_most]) + f" and {len(names) - at_most} more"


def pct(ratio: float) -> str:
    return "<1 %" if 0 < ratio < 0.005 else f"{ratio * 100:.0f} %"


def limit_note(pop: dict) -> str:
    """``bound by X (95 %)`` where a limit binds the population, else its largest use."""
    use = pop.get("utilisation", {})
    if pop.get("binding_limit"):
        lim = pop["binding_limit"]
        return f"bound by {LIMITS.get(lim, (lim, lim))[1]} ({pct(use.get(lim, 0.0))})"
    lim = pop.get("largest_limit")
    if lim is None:
        return "no limit known"
    return f"largest use: {LIMITS.get(lim, (lim, lim))[1]} at {pct(use[lim])}"


def _wrap(text: str, width: int, indent: str = "") -> list[str]:
    return textwrap.wrap(text, width, initial_indent=indent, subsequent_indent=indent + "  ",
                         break_on_hyphens=False)


def _table(t: dict, width: int) -> list[str]:
    """One row per population: size, fan-in, cores and the use of each checked limit."""
    pops = t["populations"]
    limits = [lim for lim in LIMITS if any(lim in p["utilisation"] for p in pops)]
    cells = [(lim, max(len(LIMITS[lim][0]), 5)) for lim in limits]
    fixed = 2 + 7 + 2 + 6 + 2 + 5 + sum(2 + w for _, w in cells) + 2 + len("bound by") + 2 + 9
    name_w = max(10, min(max(len(p["name"]) for p in pops), width - fixed))
    at_least = "≥" if t["cores_lower_bound"] else ""

    def name(n: str) -> str:
        return n if len(n) <= name_w else n[:name_w - 1] + "…"

    binds = any(p.get("binding_limit") for p in pops)
    head = f"  {'population':<{name_w}}  {'neurons':>7}  {'fan-in':>6}  {'cores':>5}"
    rows = [" " * (len(head) + 2) + "% of each limit per core:",
            head + "".join(f"  {LIMITS[lim][0]:>{w}}" for lim, w in cells) + ("  bound by" if binds else "")]
    for p in pops:
        bound = p.get("binding_limit")
        row = (f"  {name(p['name']):<{name_w}}  {p['neurons']:>7,}  {p['fan_in']:>6,}  {at_least + str(p['cores']):>5}"
               + "".join(f"  {pct(p['utilisation'][lim]) if lim in p['utilisation'] else '—':>{w}}" for lim, w in cells)
               + (f"  {LIMITS.get(bound, (bound,))[0]}" if bound else ""))
        rows.append(row.rstrip())
    if not binds and any(p.get("largest_limit") for p in pops):
        top = max((p for p in pops if p.get("largest_limit")), key=lambda p: p["utilisation"][p["largest_limit"]])
        lim = top["largest_limit"]
        rows += _wrap(f"no limit binds (none at ≥ {pct(BINDS_AT)}); largest: {LIMITS.get(lim, (lim, lim))[1]} at "
                      f"{pct(top['utilisation'][lim])} ({top['name']})", width, "  ")
    return rows


def _unchecked(limits: list[str]) -> str:
    words = [LIMITS.get(u, (u, u))[1] for u in limits]
    if len(words) > 1 and all(w.endswith(" per core") for w in words):
        stems = [w[:-len(" per core")] for w in words]
        return ", ".join(stems[:-1]) + f" and {stems[-1]} per core"
    return ", ".join(words)


def _verdict(name: str, t: dict) -> str:
    cores = plural(t["cores"], "core")
    where = (f"at least {cores} (per-core limits unpublished)" if t["cores_lower_bound"] else cores)
    return f"{name} ({t['title']}): {'fits' if t['fits'] else 'does NOT fit'}; {where} on {plural(t['chips'], 'chip')}"


def advice(name: str, t: dict) -> str | None:
    """One line on what would make the network fit, where it follows from the plan's figures."""
    if t["fits"] or "fixes" not in t:  # a plan written before fixes were recorded gets none
        return None
    fixes = t["fixes"]
    if fixes and t.get("placement_fits", True):
        return f"advice: {name} needs {' and '.join(fixes)}; the placement fits ({plural(t['cores'], 'core')})"
    if fixes:
        return f"advice: {name} needs {' and '.join(fixes)}, and a placement that fits (see above)"
    return (f"advice: {name}: the placement does not fit (see above); it needs fewer neurons or inputs per "
            "population, or narrower weights")


def _bytes(n: float) -> str:
    return f"{n:,.0f} B" if n >= 10 else f"{n:.3g} B"


def _link(lk: dict) -> list[str]:
    lines, streams = [], lk["bits_per_step"]["threshold_streams"]
    per_clip = lk["bytes_per_clip"]
    if per_clip["host_to_chip"] is not None:
        share = f" ({pct(lk['threshold_stream_share'])} threshold streams)" if streams else ""
        lines.append(f"link per clip ({plural(lk['steps_per_clip'], 'step')}): host→chip "
                     f"{_bytes(per_clip['host_to_chip'])}{share}, chip→host {_bytes(per_clip['chip_to_host'])}")
    static = (f" (static thresholds: {lk['static_threshold']['realtime_bits_per_s'] / 1e6:,.2f} Mbit/s)"
              if streams else "")
    lines.append(f"link in real time (one step per {lk['dt_s']} s): {lk['realtime_bits_per_s'] / 1e6:,.2f} Mbit/s"
                 + static)
    return lines


def summary(dep: dict, populations: bool = False, width: int = 100) -> list[str]:
    """The plan in lines of at most ``width`` columns: per target its verdict (with ``populations``,
    a table of them), what it lacks and notes; then the link; then advice."""
    out = []
    for name, t in dep["targets"].items():
        out += _wrap(_verdict(name, t), width)
        if populations and t["populations"]:
            out += _table(t, width)
        out += [line for v in t["violations"] for line in _wrap(f"does not fit: {v}", width, "  ")]
        out += [line for n in t["notes"] for line in _wrap(f"note: {n}", width, "  ")]
        if populations and t["unchecked"]:
            out += _wrap(f"not checked (unpublished): {_unchecked(t['unchecked'])}", width, "  ")
    for name, why in dep.get("not_planned", {}).items():
        out += _wrap(f"{name}: not planned: {why}", width)
    for line in _link(dep["link"]):
        out += _wrap(line, width)
    for name, t in dep["targets"].items():
        out += _wrap(advice(name, t) or "", width)
    return out
