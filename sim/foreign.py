"""``neuro-av sim --nir GRAPH --input X --dt SECONDS``: the spike / energy report of any NIR graph.

Backends: ``numpy`` (the reference: the plan in NumPy, NIR semantics —
:func:`neuro_av.export.lava.plan.simulate`), ``lava-float`` and ``lava-fixed`` (neuro-av's Lava
network; fixed point calibrated on the input itself). The input is one clip [T, N] or a batch
[B, T, N]. Spikes are reported in the reference's time alignment (Lava's Dense delays removed).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from neuro_av.export.agreement import agreement_counts
from neuro_av.export.lava.fixed_point import quantise
from neuro_av.export.lava.plan import plan_from_nir, simulate
from neuro_av.export.nir_graph import read_graph
from neuro_av.sim.counts import layer_sums, per_clip
from neuro_av.sim.energy import energy_report, reference_tables

from neuro_av.errors import DataError

BACKENDS = ("numpy", "lava-float", "lava-fixed")
REFERENCE = "numpy"


class InputError(DataError):
    pass


def load_input(path: Path, columns: str | None, width: int) -> np.ndarray:
    """(B, T, N) input from .npy ([T, N] or [B, T, N]) or .csv (rows = steps; ``columns`` picks some)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"input file {path} does not exist")
    try:
        if path.suffix == ".npy":
            x = np.load(path, allow_pickle=False)
        elif path.suffix == ".csv":
            x = np.loadtxt(path, delimiter=",", ndmin=2)
        else:
            raise InputError(f"{path}: input must be .npy or .csv, got {path.suffix or 'no suffix'}")
    except ValueError as exc:
        raise InputError(f"{path}: not a numeric array ({exc})") from None
    if columns:
        try:
            x = x[..., [int(c) for c in columns.split(",")]]
        except (ValueError, IndexError):
            raise InputError(f"--columns {columns!r} does not select columns of {path} (shape {x.shape})") from None
    try:
        x = np.asarray(x, np.float64)
    except (TypeError, ValueError):
        raise InputError(f"{path}: values of dtype {x.dtype} are not numbers") from None
    if x.ndim == 2:
        x = x[None]
    if x.ndim != 3 or x.shape[2] != width:
        raise InputError(f"{path}: input shape {x.shape} does not match the graph's input width {width} "
                         "(expected [T, N] or [B, T, N]; pick CSV columns with --columns)")
    bad = ~np.isfinite(x)
    if bad.any():
        b, t, n = np.argwhere(bad)[0]
        raise InputError(f"{path}: {int(bad.sum())} values are NaN or infinite (first at clip {b}, step {t}, "
                         f"column {n}); clean the input")
    return x


def simulate_graph(graph_path: Path, input_path, dt_s, columns, backends, out_dir: Path, tables,
                   save: bool = False, lanes: int | None = None) -> dict:
    from neuro_av.export.lava.network import run_plan
    from neuro_av.sim.report import save_spikes, write_report

    from neuro_av.versions import library_versions

    if input_path is None:
        raise InputError("--nir needs --input SPIKES (.npy or .csv)")
    if dt_s is not None and not (np.isfinite(dt_s) and dt_s > 0):
        raise InputError(f"--dt must be a positive number of seconds, got {dt_s}")
    graph, dt = read_graph(graph_path, dt_s)
    plan = plan_from_nir(graph, dt)
    if len(plan.inputs) != 1:
        raise InputError(f"{graph_path} has {len(plan.inputs)} inputs; --nir runs graphs with one input")
    (inp, width), = plan.inputs.items()
    x = load_input(Path(input_path), columns, width)
    currents = {inp: x}
    mask = np.ones(x.shape[:2], bool)
    thresholds = {p.threshold_input: p.vth for p in plan.populations.values() if p.threshold_input}
    reference = simulate(plan, currents, thresholds)
    fixed = quantise(plan, input_peak={inp: float(np.abs(x).max())})
    results, all_spikes = {}, {}
    for name in backends:
        if name == REFERENCE:
            spikes = {k: v.astype(np.uint8) for k, v in reference.spikes.items()}
        else:
            spikes = run_plan(plan if name == "lava-float" else fixed, currents, thresholds, lanes=lanes).spikes
        all_spikes[name] = spikes
        layers, totals = per_clip(plan, layer_sums(plan, currents, spikes, mask), x.shape[0])
        energy = energy_report(totals, None, tables)
        same, total = agreement_counts(spikes, reference.spikes, mask)
        results[name] = {"spikes": layers, "totals": totals, "synops": totals["synops"] + totals["graded_synops"],
                         "energy_j": energy["neuromorphic"]["Loihi 1"]["total"], "energy": energy,
                         "spike_agreement_vs_reference": same / max(total, 1)}
    report = {"format": "neuro-av sim report 2", "kind": "nir", "reference": REFERENCE,
              "graph": str(Path(graph_path).resolve()), "input": str(Path(input_path).resolve()), "dt_s": dt,
              "clips": int(x.shape[0]), "steps": int(x.shape[1]), "backends": results,
              "raster": {k: {layer: np.argwhere(s[0] > 0).tolist() for layer, s in v.items()}
                         for k, v in all_spikes.items()},
              "quantisation": fixed.report, "energy_tables": reference_tables(tables), "gpu_energy": None,
              "versions": library_versions()}
    paths = write_report(report, out_dir)
    if save:
        save_spikes(all_spikes, Path(out_dir) / "spikes.npz")
    return paths
