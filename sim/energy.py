"""Energy per clip as a pure function of operation counts and a cited constants table.

Three estimates, always printed with their assumptions:

- ``neuromorphic``: the spiking branch priced at a chip's per-operation energies (default: Loihi 1,
  Davies et al., IEEE Micro 2018, Table 2 — the only published table; it prices the operations, it
  does not say that Loihi 1 can run the network: the deployment plan says that). Every synaptic
  event costs ``synop_pj`` (for Loihi 1, 23.6 pJ: Davies et al.'s *minimum* energy per synaptic
  operation), kept in two parts: binary spike events (spikes × fan-out) and graded input events
  (non-zero graded inputs × fan-out); every neuron update costs ``neuron_update_pj`` (Loihi updates
  every neuron every step; charged at the *active* rate, the larger of its two figures), every spike
  ``spike_pj`` (within-tile; placement and tile hops are not modelled). Biases are neuron registers
  on chip: no synaptic events.
- ``dense_accelerator``: the same layers as dense fp32 MACs on a conventional 45 nm accelerator
  (Horowitz, ISSCC 2014: 4.6 pJ per MAC), all time steps, ignoring memory traffic.
- ``spikformer_style``: 4.6 pJ × first-layer MACs + 0.9 pJ × SynOps — the estimate common in SNN
  papers; it ignores neuron updates, memory and data movement and flatters SNNs. Reported only next to
  the fuller model.

The ANN parts (``pre`` / ``post``) are charged 4.6 pJ per MAC. Intel has published no per-operation
table for Loihi 2: pass one (JSON with the keys of :data:`LOIHI1` and a ``source``) to get that column;
neuro-av never invents one.
"""
from __future__ import annotations

import json
from pathlib import Path

from neuro_av.errors import NeuroAVError

PJ = 1e-12

LOIHI1 = {
    "name": "Loihi 1",
    "source": "Davies et al., 'Loihi: A Neuromorphic Manycore Processor with On-Chip Learning', "
              "IEEE Micro 38(1), 2018, Table 2",
    "synop_pj": 23.6,  # minimum energy per synaptic operation
    "neuron_update_pj": 81.0,  # active neuron update (inactive: 52 pJ)
    "neuron_update_inactive_pj": 52.0,
    "spike_pj": 1.7,  # within-tile spike energy
    "tile_hop_pj": {"east_west": 3.0, "north_south": 4.0},  # not used: placement is not modelled
}
CMOS45 = {
    "name": "45 nm CMOS",
    "source": "Horowitz, 'Computing's energy problem (and what we can do about it)', ISSCC 2014",
    "fp32_add_pj": 0.9, "fp32_mult_pj": 3.7, "fp32_mac_pj": 4.6, "int32_add_pj": 0.1, "int32_mult_pj": 3.1,
}
REQUIRED_KEYS = ("name", "source", "synop_pj", "neuron_update_pj", "spike_pj")


class EnergyTableError(NeuroAVError, ValueError):
    pass


def load_table(path: Path) -> dict:
    """A user-supplied per-operation table (e.g. Loihi 2 figures you have a source for)."""
    path = Path(path)
    try:
        table = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise EnergyTableError(f"energy table {path}: cannot read it as JSON ({exc})") from None
    if not isinstance(table, dict):
        raise EnergyTableError(f"energy table {path}: expected a JSON object with {', '.join(REQUIRED_KEYS)}, "
                               f"got a {type(table).__name__}")
    missing = [k for k in REQUIRED_KEYS if k not in table]
    if missing:
        raise EnergyTableError(f"energy table {path} lacks {', '.join(missing)}; it needs {', '.join(REQUIRED_KEYS)} "
                               "(energies in pJ, and the publication the figures come from)")
    for k in ("synop_pj", "neuron_update_pj", "spike_pj"):
        if not isinstance(table[k], (int, float)) or table[k] < 0:
            raise EnergyTableError(f"energy table {path}: {k} must be a non-negative number of pJ, got {table[k]!r}")
    return table


def reference_tables(extra_tables: list[dict] = ()) -> list[dict]:
    """Every table a report cites: the built-in ones and the user's."""
    return [LOIHI1, CMOS45, *extra_tables]


def neuromorphic_j(counts: dict, table: dict = LOIHI1) -> dict:
    """``counts``: per-clip totals with ``synops``, ``graded_synops``, ``neuron_updates``, ``spikes``."""
    parts = {"spike_synaptic_events": counts["synops"] * table["synop_pj"] * PJ,
             "graded_input_events": counts["graded_synops"] * table["synop_pj"] * PJ,
             "neuron_updates": counts["neuron_updates"] * table["neuron_update_pj"] * PJ,
             "spikes": counts["spikes"] * table["spike_pj"] * PJ}
    return {"total": sum(parts.values()), "parts": parts, "table": table["name"]}


def energy_report(counts: dict, ann_macs: float | None, extra_tables: list[dict] = ()) -> dict:
    """Per-clip energy (J) of the spiking branch under each model, and of the ANN parts."""
    mac = CMOS45["fp32_mac_pj"] * PJ
    out = {
        "neuromorphic": {t["name"]: neuromorphic_j(counts, t) for t in (LOIHI1, *extra_tables)},
        "dense_accelerator": {"total": counts["dense_macs"] * mac, "macs": counts["dense_macs"]},
        "spikformer_style": {"total": counts["first_layer_dense_macs"] * mac
                             + counts["synops"] * CMOS45["fp32_add_pj"] * PJ,
                             "note": "ignores neuron updates, memory and data movement; flatters SNNs"},
        "ann_parts": None if ann_macs is None else {"total": ann_macs * mac, "macs": ann_macs},
        "tables": [LOIHI1, CMOS45, *extra_tables],
        "assumptions": [
            "per clip; valid (unpadded) steps only",
            "neuromorphic: synaptic events at the table's energy per synaptic operation (Loihi 1: "
            f"{LOIHI1['synop_pj']} pJ, the minimum Davies et al. report); every neuron update charged at the "
            f"active rate ({LOIHI1['neuron_update_pj']:g} pJ, not the {LOIHI1['neuron_update_inactive_pj']:g} pJ "
            "of an inactive one); graded first-layer inputs count one event per non-zero "
            "value and target; biases are neuron registers (no events); spike routing beyond a tile and "
            "the host-chip link are not in these figures (the link is sized in the deployment plan)",
            "dense accelerator: fp32 MAC per weight per step, memory traffic ignored",
            "ANN parts: fp32 MACs of pre and post (attention and linear layers), memory traffic ignored",
        ],
    }
    return out
