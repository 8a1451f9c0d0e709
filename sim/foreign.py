"""``neuro-av sim --nir GRAPH --input SPIKES --dt SECONDS``: the spike / energy report of any NIR graph.

Backends: ``reference`` (NumPy, NIR semantics — :func:`neuro_av.export.lava_plan.simulate`),
``lava-float`` and ``lava-fixed`` (neuro-av's Lava network; fixed point quantised with the input's
peak as calibration). One clip: the input file. Spikes are reported in the reference's time
alignment (Lava's Dense delays removed).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from neuro_av.errors import NeuroAVError
from neuro_av.export.fixed_point import quantise
from neuro_av.export.hybrid import spike_agreement
from neuro_av.export.lava_plan import plan_from_nir, simulate
from neuro_av.export.nir_graph import read_graph
from neuro_av.sim.counts import layer_sums, per_clip
from neuro_av.sim.energy import energy_report


class InputError(NeuroAVError, ValueError):
    pass


def load_input(path: Path, columns: str | None, width: int) -> np.ndarray:
    """(T, N) input from .npy ([T, N] or [1, T, N]) or .csv (rows = steps; ``columns`` picks some)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"input file {path} does not exist")
    if path.suffix == ".npy":
        x = np.load(path, allow_pickle=False)
    elif path.suffix == ".csv":
        try:
            x = np.loadtxt(path, delimiter=",", ndmin=2)
        except ValueError as exc:
            raise InputError(f"{path}: not a numeric CSV ({exc})") from None
    else:
        raise InputError(f"{path}: input must be .npy or .csv, got {path.suffix or 'no suffix'}")
    if columns:
        try:
            cols = [int(c) for c in columns.split(",")]
            x = x[..., cols]
        except (ValueError, IndexError):
            raise InputError(f"--columns {columns!r} does not select columns of {path} (shape {x.shape})") from None
    x = np.asarray(x, np.float64)
    if x.ndim == 3 and x.shape[0] == 1:
        x = x[0]
    if x.ndim != 2 or x.shape[1] != width:
        raise InputError(f"{path}: input shape {x.shape} does not match the graph's input width {width} "
                         "(expected [T, N]; pick CSV columns with --columns)")
    return x


def simulate_graph(graph_path: Path, input_path, dt_s, columns, backends, out_dir: Path, tables,
                   save_spikes: bool = False) -> dict:
    from neuro_av.export.lava_network import run_plan
    from neuro_av.sim.report import write_report
    from neuro_av.versions import library_versions

    if input_path is None:
        raise InputError("--nir needs --input SPIKES (.npy or .csv)")
    graph, dt = read_graph(graph_path, dt_s)
    plan = plan_from_nir(graph, dt)
    if len(plan.inputs) != 1:
        raise InputError(f"{graph_path} has {len(plan.inputs)} inputs; --nir runs graphs with one input")
    (inp, width), = plan.inputs.items()
    x = load_input(Path(input_path), columns, width)
    currents = {inp: x[None]}
    mask = np.ones(x.shape[:1], bool)[None]
    thresholds = {p.threshold_input: p.vth for p in plan.populations.values() if p.threshold_input}
    reference = {k: v.astype(np.uint8) for k, v in simulate(plan, currents, thresholds).items()}
    fixed = quantise(plan, input_peak={inp: float(np.abs(x).max())})
    results, all_spikes = {}, {}
    for name in backends:
        spikes = reference if name == "reference" else \
            run_plan(plan if name == "lava-float" else fixed, currents, thresholds).spikes
        all_spikes.update({f"{name}/{k}": v.astype(np.uint8) for k, v in spikes.items()})
        layers, totals = per_clip(plan, layer_sums(plan, currents, spikes, mask), 1)
        energy = energy_report(totals, None, tables)
        results[name] = {"spikes": layers, "totals": totals, "synops": totals["synops"] + totals["graded_synops"],
                         "energy_j": energy["neuromorphic"]["Loihi 1"]["total"], "energy": energy,
                         "spike_agreement_vs_reference": spike_agreement(spikes, reference, mask),
                         "raster": {k: np.argwhere(v[0] > 0).tolist() for k, v in spikes.items()}}
    report = {"format": "neuro-av sim report 1", "kind": "nir", "graph": str(Path(graph_path).resolve()),
              "input": str(Path(input_path).resolve()), "dt_s": dt, "steps": int(x.shape[0]),
              "backends": {k: {kk: vv for kk, vv in v.items() if kk != "raster"} for k, v in results.items()},
              "raster": {k: v["raster"] for k, v in results.items()},
              "quantisation": fixed.report, "energy_tables": energy["tables"], "gpu_energy": None,
              "versions": library_versions()}
    paths = write_report(report, out_dir)
    if save_spikes:  # one clip: [1, T, N] per backend and layer
        tmp = Path(out_dir) / ".spikes.tmp.npz"
        np.savez_compressed(tmp, **all_spikes)
        tmp.replace(Path(out_dir) / "spikes.npz")
    return paths
