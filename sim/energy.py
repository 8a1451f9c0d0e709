"""Energy per clip as a pure function of operation counts and cited constants tables.

Three estimates, always printed with their assumptions:

- ``neuromorphic``: the spiking branch priced at the per-operation energies of every hardware profile
  (:mod:`neuro_av.export.hardware`) that publishes them; a profile whose energies are unknown is
  listed under ``not_priced`` with the reason. Pricing a chip's operations does not say that the chip
  can run the network: the deployment plan says that. Every synaptic event costs ``synop_pj``, kept
  in two parts: binary spike events (spikes × fan-out) and graded input events (non-zero graded
  inputs × fan-out), the fan-out being a source's non-zero weights (:mod:`neuro_av.sim.counts`); every neuron update costs ``neuron_update_pj`` (every neuron, every step), every
  spike ``spike_pj`` (placement and the mesh are not modelled). Biases are neuron registers on chip:
  no synaptic events.
- ``dense_accelerator``: the same layers as dense fp32 MACs on a conventional 45 nm accelerator
  (Horowitz, ISSCC 2014: 4.6 pJ per MAC), all time steps, ignoring memory traffic.
- ``spikformer_style``: 4.6 pJ × first-layer MACs + 0.9 pJ × SynOps — the estimate common in SNN
  papers; it ignores neuron updates, memory and data movement and flatters SNNs. Reported only next to
  the fuller model.

The ANN parts (``pre`` / ``post``) are charged 4.6 pJ per MAC. neuro-av never invents a chip's
energies: a chip without published ones gets its column from a profile you give (``--hardware``).
"""
from __future__ import annotations

from neuro_av.export.hardware import energy_table, title, unpriced_reason

PJ = 1e-12

CMOS45 = {
    "name": "45 nm CMOS",
    "source": "Horowitz, 'Computing's energy problem (and what we can do about it)', ISSCC 2014",
    "fp32_add_pj": 0.9, "fp32_mult_pj": 3.7, "fp32_mac_pj": 4.6, "int32_add_pj": 0.1, "int32_mult_pj": 3.1,
}


def neuromorphic_j(counts: dict, table: dict) -> dict:
    """``counts``: per-clip totals with ``synops``, ``graded_synops``, ``neuron_updates``, ``spikes``;
    ``table``: :func:`~neuro_av.export.hardware.energy_table` of a profile."""
    parts = {"spike_synaptic_events": counts["synops"] * table["synop_pj"] * PJ,
             "graded_input_events": counts["graded_synops"] * table["synop_pj"] * PJ,
             "neuron_updates": counts["neuron_updates"] * table["neuron_update_pj"] * PJ,
             "spikes": counts["spikes"] * table["spike_pj"] * PJ}
    return {"total": sum(parts.values()), "parts": parts, "profile": table["profile"], "title": table["title"]}


def reference_tables(profiles) -> list[dict]:
    """Every table a report cites: each priced profile's energies (``name`` is its title) and 45 nm CMOS."""
    out = []
    for table in filter(None, map(energy_table, profiles)):
        cited = list(dict.fromkeys(table["sources"].values()))
        out.append({"name": table["title"], "source": "; ".join(cited), **table})
    return [*out, CMOS45]


def _priced_assumption(table: dict) -> str:
    notes = table["notes"]
    figures = ", ".join(f"{what} {table[k]:g} pJ" + (f" ({notes[k]})" if k in notes else "")
                        for k, what in (("synop_pj", "synaptic event"), ("neuron_update_pj", "neuron update"),
                                        ("spike_pj", "spike")))
    return f"neuromorphic at {table['title']}'s energies: {figures}"


def energy_report(counts: dict, ann_macs: float | None, profiles) -> dict:
    """Per-clip energy (J) of the spiking branch under each model, and of the ANN parts; ``profiles``:
    the hardware profiles to price with (those without published energies are listed as not priced)."""
    mac = CMOS45["fp32_mac_pj"] * PJ
    tables = [t for t in map(energy_table, profiles) if t is not None]
    return {
        "neuromorphic": {t["profile"]: neuromorphic_j(counts, t) for t in tables},
        "not_priced": {p["name"]: {"title": title(p), "reason": unpriced_reason(p)}
                       for p in profiles if energy_table(p) is None},
        "dense_accelerator": {"total": counts["dense_macs"] * mac, "macs": counts["dense_macs"]},
        "spikformer_style": {"total": counts["first_layer_dense_macs"] * mac
                             + counts["synops"] * CMOS45["fp32_add_pj"] * PJ,
                             "note": "ignores neuron updates, memory and data movement; flatters SNNs"},
        "ann_parts": None if ann_macs is None else {"total": ann_macs * mac, "macs": ann_macs},
        "tables": reference_tables(profiles),
        "assumptions": [
            "per clip; valid (unpadded) steps only",
            "neuromorphic: every synaptic event at the profile's energy per synaptic operation, every neuron "
            "update of every neuron on every step at its neuron update energy, every spike at its spike energy; "
            "graded first-layer inputs count one event per non-zero value and target; a target is a non-zero "
            "weight (nengo-loihi stores a sparse matrix's non-zero weights only; a conv layer's composed "
            "matrix is mostly zeros); biases are neuron registers (no events); spike routing beyond a tile and the host-chip link are not in these figures "
            "(the link is sized in the deployment plan)",
            *map(_priced_assumption, tables),
            "dense accelerator: fp32 MAC per weight per step (a conv or pooling layer's non-zero weights only: "
            "its MACs as a conv, not as its composed matrix), memory traffic ignored",
            "ANN parts: fp32 MACs of pre and post (attention and linear layers), memory traffic ignored",
        ],
    }


def main_energy(energy: dict) -> tuple[str, float] | tuple[None, None]:
    """(profile name, J per clip) of the first priced profile: a report's headline energy."""
    for name, n in energy["neuromorphic"].items():
        return name, n["total"]
    return None, None
