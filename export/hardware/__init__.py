"""Hardware profiles: what a neuromorphic chip offers, as data, every figure with its source — the
one place chip facts live, for placement (:mod:`neuro_av.export.placement`) and energy
(:mod:`neuro_av.sim.energy`). A new chip is one new ``<name>.json`` beside this file.

A profile (``loihi1.json``, ``loihi2.json`` beside this file, or a user's ``--hardware FILE.json``)::

    {"name": "...", "title": "...",
     "figures": {"<figure>": {"value": ..., "source": "publication, table or page, or URL"}, ...},
     "synapse_cost": {"memory_unit_bits", "synapses_per_block", "block_header_bits", "index_bits", "source"},
     "energy": {"<figure>_pj": {"value": pJ, "source": "...", "note": "..."}
                            or {"value": null, "note": "why no figure is given"}, ...},
     "unknown": {"<figure>": "why no figure is given"}}

Figures (all optional — a figure left out is *unknown*, and the plan says which bound it could not
check): ``cores_per_chip``, ``neurons_per_core``, ``input_axons_per_core``, ``output_axons_per_core``,
``synapse_memory_bits_per_core`` (with ``synapse_cost`` saying how a synapse's bits are counted),
``neurons_per_chip``, ``synapses_per_chip``, ``weight_bits_max``, ``state_bits``, ``threshold_bits``,
``graded_spikes`` (bool) and ``graded_payload_bits``, ``threshold_input`` (``"none"``, ``"port"`` or
``"microcode"``: whether a neuron can take its threshold from an input each step),
``link_bits_per_s`` and ``link_energy_pj_per_bit`` (the host-chip link).

Energies (pJ per operation, :data:`ENERGY`): a profile is priced only when all of :data:`PRICED` are
given; ``null`` marks an unpublished one. A profile needs ``figures`` (placement), ``energy`` or both;
a user's profile may not take a built-in profile's name or title.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

from neuro_av.data.paths import path_problem
from neuro_av.errors import NeuroAVError

HERE = Path(__file__).resolve().parent
BUILTIN = tuple(sorted(p.stem for p in HERE.glob("*.json")))  # the first prices a report's main energy column
INT_FIGURES = ("cores_per_chip", "neurons_per_core", "input_axons_per_core", "output_axons_per_core",
               "synapse_memory_bits_per_core", "neurons_per_chip", "synapses_per_chip", "weight_bits_max",
               "state_bits", "threshold_bits", "graded_payload_bits")
FLOAT_FIGURES = ("link_bits_per_s", "link_energy_pj_per_bit")
THRESHOLD_INPUT = ("none", "port", "microcode")
COST_KEYS = ("memory_unit_bits", "synapses_per_block", "block_header_bits", "index_bits")
ENERGY = ("synop_pj", "neuron_update_pj", "neuron_update_inactive_pj", "spike_pj", "tile_hop_east_west_pj",
          "tile_hop_north_south_pj")
PRICED = ("synop_pj", "neuron_update_pj", "spike_pj")  # what the energy model charges


class HardwareProfileError(NeuroAVError, ValueError):
    """A hardware profile that cannot be used; the message names the file and the field."""


def _read(path: Path, what: str):
    problem = path_problem(path)
    if problem:
        said = "does not exist" if problem == "is missing" else problem
        raise HardwareProfileError(f"{what} {path} {said} (built-in profiles: {', '.join(BUILTIN)})")
    try:
        return json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise HardwareProfileError(f"{what} {path}: cannot read it as JSON ({exc})") from None


def load_profile(name_or_path: str | Path) -> dict:
    """A built-in profile by name (:data:`BUILTIN`) or a user's JSON file, validated."""
    if str(name_or_path) in BUILTIN:
        path = HERE / f"{name_or_path}.json"
        profile = _read(path, "hardware profile")
        validate(profile, str(path))
        return profile
    path = Path(name_or_path)
    profile = _read(path, "hardware profile")
    validate(profile, str(path))
    _not_a_builtin(profile, str(path))
    return profile


def _not_a_builtin(profile: dict, where: str) -> None:
    """A user's profile must not pass for a built-in one in plans and reports."""
    if profile["name"] in BUILTIN:
        raise HardwareProfileError(f"hardware profile {where}: name {profile['name']!r} is a built-in profile's; "
                                   f"give yours another name (e.g. {profile['name'] + '-mine'!r}), so that it "
                                   "does not replace the built-in")
    titles = {title(load_profile(b)): b for b in BUILTIN}
    if title(profile) in titles:
        raise HardwareProfileError(f"hardware profile {where}: title {title(profile)!r} is the built-in "
                                   f"{titles[title(profile)]}'s; give yours another title")


def load_profiles(specs, energy_tables=()) -> tuple[dict, ...]:
    """``--hardware NAME|FILE`` values (and deprecated ``--energy-table`` files): the profiles, each
    name once (a built-in named twice is one)."""
    out, where = {}, {}
    loaded = [(s, load_profile(s)) for s in specs] + [(t, from_energy_table(t)) for t in energy_tables]
    for spec, profile in loaded:
        name = profile["name"]
        if name in out and name not in BUILTIN:
            raise HardwareProfileError(f"hardware profiles {where[name]} and {spec} both have name {name!r}; "
                                       "give each its own")
        out[name], where[name] = profile, spec
    return tuple(out.values())


def with_builtins(extra=()) -> list[dict]:
    """The built-in profiles, then the user's (loaded profiles; a built-in among them is not repeated)."""
    return [load_profile(b) for b in BUILTIN] + [p for p in extra if p["name"] not in BUILTIN]


def from_energy_table(path: Path) -> dict:
    """A table of the deprecated ``--energy-table`` format (``name``, ``source`` and the :data:`PRICED`
    energies in pJ) as an energy-only profile."""
    path = Path(path)
    table = _read(path, "energy table")
    need = ("name", "source", *PRICED)
    if not isinstance(table, dict):
        raise HardwareProfileError(f"energy table {path}: expected a JSON object with {', '.join(need)}, "
                                   f"got a {type(table).__name__}")
    missing = [k for k in need if k not in table]
    if missing:
        raise HardwareProfileError(f"energy table {path} lacks {', '.join(missing)}; it needs {', '.join(need)} "
                                   "(energies in pJ, and the publication the figures come from)")
    energy = {k: {"value": table[k], "source": table["source"]} for k in ENERGY if k in table}
    profile = {"name": str(table["name"]), "title": str(table["name"]), "energy": energy}
    validate(profile, str(path))
    _not_a_builtin(profile, str(path))
    return profile


def _fail(where: str, message: str):
    raise HardwareProfileError(f"hardware profile {where}: {message}")


def _text(x) -> bool:
    return isinstance(x, str) and bool(x.strip())


def _number(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def validate(profile, where: str) -> None:
    if not isinstance(profile, dict):
        _fail(where, f"expected a JSON object, got a {type(profile).__name__}")
    if "name" not in profile or not ("figures" in profile or "energy" in profile):
        missing = "'name'" if "name" not in profile else "'figures' and 'energy'"
        raise HardwareProfileError(f"hardware profile {where} lacks {missing}; it needs name and figures "
                                   "({figure: {value, source}}), energy, or both")
    if not _text(profile["name"]):
        _fail(where, f"name must be a non-empty string, got {profile['name']!r}")
    if "title" in profile and not _text(profile["title"]):
        _fail(where, f"title must be a non-empty string, got {profile['title']!r}")
    _validate_figures(profile.get("figures", {}), where)
    if "energy" in profile:
        _validate_energy(profile["energy"], where)
    if "synapse_memory_bits_per_core" in profile.get("figures", {}):
        _validate_cost(profile.get("synapse_cost"), where)


def _validate_figures(figures, where: str) -> None:
    if not isinstance(figures, dict):
        _fail(where, "'figures' must be an object of figure -> {value, source}")
    known = set(INT_FIGURES) | set(FLOAT_FIGURES) | {"graded_spikes", "threshold_input"}
    for name, entry in figures.items():
        if name not in known:
            _fail(where, f"unknown figure {name!r}; known: {', '.join(sorted(known))}")
        if not isinstance(entry, dict) or "value" not in entry:
            _fail(where, f"figure {name} must be {{\"value\": ..., \"source\": ...}}")
        if not _text(entry.get("source")):
            _fail(where, f"figure {name} has no source; name the publication, table or page it comes from "
                         "(leave an unpublished figure out)")
        value = entry["value"]
        if name in INT_FIGURES and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
            _fail(where, f"{name} must be a positive integer, got {value!r}")
        if name in FLOAT_FIGURES and (not _number(value) or value <= 0):
            _fail(where, f"{name} must be a finite positive number, got {value!r}")
        if name == "graded_spikes" and not isinstance(value, bool):
            _fail(where, f"graded_spikes must be true or false, got {value!r}")
        if name == "threshold_input" and value not in THRESHOLD_INPUT:
            _fail(where, f"threshold_input must be one of {', '.join(THRESHOLD_INPUT)}, got {value!r}")


def _validate_energy(energy, where: str) -> None:
    if not isinstance(energy, dict):
        _fail(where, "'energy' must be an object of figure -> {value, source}")
    for name, entry in energy.items():
        if name not in ENERGY:
            _fail(where, f"unknown energy figure {name!r}; known: {', '.join(ENERGY)}")
        if not isinstance(entry, dict) or "value" not in entry:
            _fail(where, f"energy.{name} must be {{\"value\": pJ, \"source\": ...}} or {{\"value\": null, \"note\": ...}}")
        value = entry["value"]
        if value is None:
            if not _text(entry.get("note")):
                _fail(where, f"energy.{name} is null (unpublished) without a note saying why")
            continue
        if not _number(value) or value < 0:
            _fail(where, f"energy.{name} must be a finite number of pJ ≥ 0 (or null with a note), got {value!r}")
        if not _text(entry.get("source")):
            _fail(where, f"energy.{name} has no source; name the publication, table or page it comes from "
                         "(or make it null with a note)")


def _validate_cost(cost, where: str) -> None:
    if not isinstance(cost, dict) or any(k not in cost for k in (*COST_KEYS, "source")):
        _fail(where, f"synapse_memory_bits_per_core needs 'synapse_cost' with {', '.join(COST_KEYS)} and source "
                     "(how a synapse's bits are counted)")
    for k in COST_KEYS:
        if not isinstance(cost[k], int) or cost[k] < 0 or (k not in ("index_bits", "block_header_bits") and cost[k] < 1):
            _fail(where, f"synapse_cost.{k} must be a non-negative integer, got {cost[k]!r}")


def title(profile: dict) -> str:
    return profile.get("title") or profile["name"]


def figure(profile: dict, name: str, default=None):
    entry = profile.get("figures", {}).get(name)
    return default if entry is None else entry["value"]


def sources(profile: dict) -> dict[str, str]:
    out = {name: entry["source"] for name, entry in profile.get("figures", {}).items()}
    if "synapse_cost" in profile:
        out["synapse_cost"] = profile["synapse_cost"]["source"]
    return out


def energy_table(profile: dict) -> dict | None:
    """The profile's published per-operation energies — ``{"profile", "title", "<figure>_pj": pJ,
    "sources": {figure: source}, "notes": {figure: note}}`` — or None when one of :data:`PRICED` is unknown."""
    energy = profile.get("energy") or {}
    if any((energy.get(k) or {}).get("value") is None for k in PRICED):
        return None
    known = {k: e for k, e in energy.items() if e["value"] is not None}
    return {"profile": profile["name"], "title": title(profile), **{k: e["value"] for k, e in known.items()},
            "sources": {k: e["source"] for k, e in known.items()},
            "notes": {k: e["note"] for k, e in known.items() if e.get("note")}}


def unpriced_reason(profile: dict) -> str:
    """Why :func:`energy_table` gives nothing for this profile."""
    energy = profile.get("energy") or {}
    notes = {(energy.get(k) or {}).get("note") for k in PRICED if (energy.get(k) or {}).get("value") is None}
    notes.discard(None)
    missing = [k for k in PRICED if (energy.get(k) or {}).get("value") is None]
    return "; ".join(sorted(notes)) or f"no {', '.join(missing)} in its profile"
