"""Hardware profiles: what a neuromorphic chip offers, as data, every figure with its source.

A profile (``loihi1.json``, ``loihi2.json`` beside this file, or a user's ``--hardware FILE.json``)::

    {"name": "...", "title": "...",
     "figures": {"<figure>": {"value": ..., "source": "publication, table or page, or URL"}, ...},
     "synapse_cost": {"memory_unit_bits", "synapses_per_block", "block_header_bits", "index_bits", "source"},
     "unknown": {"<figure>": "why no figure is given"}}

Figures (all optional — a figure left out is *unknown*, and the plan says which bound it could not
check): ``cores_per_chip``, ``neurons_per_core``, ``input_axons_per_core``, ``output_axons_per_core``,
``synapse_memory_bits_per_core`` (with ``synapse_cost`` saying how a synapse's bits are counted),
``neurons_per_chip``, ``synapses_per_chip``, ``weight_bits_max``, ``state_bits``, ``threshold_bits``,
``graded_spikes`` (bool) and ``graded_payload_bits``, ``threshold_input`` (``"none"``, ``"port"`` or
``"microcode"``: whether a neuron can take its threshold from an input each step),
``link_bits_per_s`` and ``link_energy_pj_per_bit`` (the host-chip link).
"""
from __future__ import annotations

import json
from pathlib import Path

from neuro_av.errors import NeuroAVError

BUILTIN = ("loihi1", "loihi2")
INT_FIGURES = ("cores_per_chip", "neurons_per_core", "input_axons_per_core", "output_axons_per_core",
               "synapse_memory_bits_per_core", "neurons_per_chip", "synapses_per_chip", "weight_bits_max",
               "state_bits", "threshold_bits", "graded_payload_bits")
FLOAT_FIGURES = ("link_bits_per_s", "link_energy_pj_per_bit")
THRESHOLD_INPUT = ("none", "port", "microcode")
COST_KEYS = ("memory_unit_bits", "synapses_per_block", "block_header_bits", "index_bits")


class HardwareProfileError(NeuroAVError, ValueError):
    """A hardware profile that cannot be used; the message names the file and the field."""


def load_profile(name_or_path: str | Path) -> dict:
    """A built-in profile by name (``loihi1``, ``loihi2``) or a user's JSON file, validated."""
    if str(name_or_path) in BUILTIN:
        path = Path(__file__).resolve().parent / f"{name_or_path}.json"
    else:
        path = Path(name_or_path)
    try:
        profile = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise HardwareProfileError(f"hardware profile {path}: cannot read it as JSON ({exc})") from None
    validate(profile, str(path))
    return profile


def validate(profile, where: str) -> None:
    if not isinstance(profile, dict):
        raise HardwareProfileError(f"hardware profile {where}: expected a JSON object, got a {type(profile).__name__}")
    for key in ("name", "figures"):
        if key not in profile:
            raise HardwareProfileError(f"hardware profile {where} lacks {key!r}; it needs name and figures "
                                       "({figure: {value, source}})")
    figures = profile["figures"]
    if not isinstance(figures, dict):
        raise HardwareProfileError(f"hardware profile {where}: 'figures' must be an object of figure -> "
                                   "{value, source}")
    known = set(INT_FIGURES) | set(FLOAT_FIGURES) | {"graded_spikes", "threshold_input"}
    for name, entry in figures.items():
        if name not in known:
            raise HardwareProfileError(f"hardware profile {where}: unknown figure {name!r}; known: "
                                       f"{', '.join(sorted(known))}")
        if not isinstance(entry, dict) or "value" not in entry:
            raise HardwareProfileError(f"hardware profile {where}: figure {name} must be {{\"value\": ..., \"source\": ...}}")
        if not isinstance(entry.get("source"), str) or not entry["source"].strip():
            raise HardwareProfileError(f"hardware profile {where}: figure {name} has no source; name the publication, "
                                       "table or page it comes from (leave an unpublished figure out)")
        value = entry["value"]
        if name in INT_FIGURES and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
            raise HardwareProfileError(f"hardware profile {where}: {name} must be a positive integer, got {value!r}")
        if name in FLOAT_FIGURES and (not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0):
            raise HardwareProfileError(f"hardware profile {where}: {name} must be a positive number, got {value!r}")
        if name == "graded_spikes" and not isinstance(value, bool):
            raise HardwareProfileError(f"hardware profile {where}: graded_spikes must be true or false, got {value!r}")
        if name == "threshold_input" and value not in THRESHOLD_INPUT:
            raise HardwareProfileError(f"hardware profile {where}: threshold_input must be one of "
                                       f"{', '.join(THRESHOLD_INPUT)}, got {value!r}")
    if "synapse_memory_bits_per_core" in figures:
        cost = profile.get("synapse_cost")
        if not isinstance(cost, dict) or any(k not in cost for k in (*COST_KEYS, "source")):
            raise HardwareProfileError(f"hardware profile {where}: synapse_memory_bits_per_core needs 'synapse_cost' "
                                       f"with {', '.join(COST_KEYS)} and source (how a synapse's bits are counted)")
        for k in COST_KEYS:
            if not isinstance(cost[k], int) or cost[k] < 0 or (k != "index_bits" and k != "block_header_bits"
                                                               and cost[k] < 1):
                raise HardwareProfileError(f"hardware profile {where}: synapse_cost.{k} must be a non-negative "
                                           f"integer, got {cost[k]!r}")


def figure(profile: dict, name: str, default=None):
    entry = profile["figures"].get(name)
    return default if entry is None else entry["value"]


def sources(profile: dict) -> dict[str, str]:
    out = {name: entry["source"] for name, entry in profile["figures"].items()}
    if "synapse_cost" in profile:
        out["synapse_cost"] = profile["synapse_cost"]["source"]
    return out
