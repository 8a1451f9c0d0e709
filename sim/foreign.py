"""Co-simulation of a network without host parts: a foreign NIR graph (``neuro-av sim --nir GRAPH
--input X --dt S``) or a user's Norse module (``neuro-av sim --module FILE.py:NAME --input X.npy``).

Backends: ``numpy`` (the plan in NumPy, NIR semantics — :func:`neuro_av.export.lava.plan.simulate`),
``norse`` (a module's own forward pass; modules only), ``lava-float`` and ``lava-fixed`` (neuro-av's
Lava network; fixed point calibrated on the input itself). The reference is ``numpy`` for a graph and
``norse`` for a module. The input is one clip [T, N] or a batch [B, T, N]. Spikes are reported in the
reference's time alignment (Lava's Dense delays removed); read-out populations (LI) report their
largest voltage difference from the reference.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from neuro_av.export.agreement import agreement_counts, readout_errors
from neuro_av.export.lava.fixed_point import quantise_on_input
from neuro_av.export.lava.plan import LavaPlan, Record, plan_from_nir, simulate
from neuro_av.export.nir_graph import read_graph
from neuro_av.sim.counts import layer_sums, per_clip
from neuro_av.sim.energy import energy_report, reference_tables

from neuro_av.data.spike_input import binary_inputs, check_dt, check_input, load_input
from neuro_av.errors import DataError

GRAPH_BACKENDS = ("numpy", "lava-float", "lava-fixed")
MODULE_BACKENDS = ("norse", "numpy", "lava-float", "lava-fixed")
BACKENDS = GRAPH_BACKENDS


def _run(plan: LavaPlan, fixed, x: np.ndarray, name: str, records: dict, lanes) -> Record:
    from neuro_av.export.lava.network import run_plan

    (inp,) = plan.inputs
    if name in records:
        return records[name]
    thresholds = {p.threshold_input: p.vth for p in plan.populations.values() if p.threshold_input}
    if name == "numpy":
        return simulate(plan, {inp: x}, thresholds)
    result = run_plan(plan if name == "lava-float" else fixed, {inp: x}, thresholds, lanes=lanes)
    return Record(result.spikes, result.voltages)


def _report(plan: LavaPlan, graph, x: np.ndarray, backends, reference: str, records: dict, tables, lanes,
            header: dict, out_dir: Path, save: bool, hardware: tuple = ()) -> dict:
    from neuro_av.export.deployment import DEFAULT_TARGETS, deployment_plan
    from neuro_av.sim.report import save_spikes, write_report

    from neuro_av.versions import library_versions

    (inp,) = plan.inputs
    mask = np.ones(x.shape[:2], bool)
    fixed = quantise_on_input(plan, {inp: x})  # lava-fixed runs it; the report shows its quantisation
    runs = {name: _run(plan, fixed, x, name, records, lanes) for name in dict.fromkeys([reference, *backends])}
    ref = runs[reference]
    results = {}
    for name in backends:
        rec = runs[name]
        spikes = {k: v.astype(np.uint8) for k, v in rec.spikes.items()}
        layers, totals = per_clip(plan, layer_sums(plan, {inp: x}, spikes, mask), x.shape[0])
        energy = energy_report(totals, None, tables)
        same, total = agreement_counts(spikes, ref.spikes, mask)
        results[name] = {"spikes": layers, "totals": totals, "synops": totals["synops"] + totals["graded_synops"],
                         "energy_j": energy["neuromorphic"]["Loihi 1"]["total"], "energy": energy,
                         "spike_agreement_vs_reference": same / max(total, 1),
                         "readout_vs_reference": readout_errors(rec.voltages, ref.voltages)}
    report = {"format": "neuro-av sim report 2", **header, "reference": reference, "clips": int(x.shape[0]),
              "steps": int(x.shape[1]), "backends": results,
              "raster": {k: {layer: np.argwhere(s[0] > 0).tolist() for layer, s in runs[k].spikes.items()}
                         for k in backends},
              "quantisation": fixed.report, "energy_tables": reference_tables(tables), "gpu_energy": None,
              "deployment": deployment_plan(plan, graph, int(x.shape[1]), targets=(*DEFAULT_TARGETS, *hardware),
                                            spike_inputs=binary_inputs({inp: x})),
              "versions": library_versions()}
    paths = write_report(report, out_dir)
    if save:
        save_spikes({k: {layer: s.astype(np.uint8) for layer, s in runs[k].spikes.items()} for k in backends},
                    Path(out_dir) / "spikes.npz")
    return paths


def simulate_graph(graph_path: Path, input_path, dt_s, columns, backends, out_dir: Path, tables,
                   save: bool = False, lanes: int | None = None, hardware: tuple = ()) -> dict:
    if input_path is None:
        raise DataError("--nir needs --input SPIKES (.npy or .csv)")
    check_dt(dt_s)
    graph, dt = read_graph(graph_path, dt_s)
    plan = plan_from_nir(graph, dt)
    if len(plan.inputs) != 1:
        raise DataError(f"{graph_path} has {len(plan.inputs)} inputs; --nir runs graphs with one input (neuro-av "
                         "writes each chain of a branch as its own snn.<chain>.nir)")
    x = load_input(Path(input_path), next(iter(plan.inputs.values())), columns, owner="graph")
    header = {"kind": "nir", "graph": str(Path(graph_path).resolve()), "input": str(Path(input_path).resolve()),
              "dt_s": dt}
    return _report(plan, graph, x, backends, "numpy", {}, tables, lanes, header, out_dir, save, hardware)


def simulate_module(module, x: np.ndarray, backends, out_dir: Path, tables=(), dt_s: float | None = None,
                    save: bool = False, lanes: int | None = None, source: str | None = None,
                    hardware: tuple = ()) -> dict:
    """A Norse module (``torch.nn.Module``) on input ``x`` ([T, N] or [B, T, N]): the report's paths."""
    from neuro_av.export.norse_module import parse, reference, to_nir

    check_dt(dt_s)
    net = parse(module, dt_s)
    x = check_input(x, net.input_width, owner="module")
    graph = to_nir(net)
    plan = plan_from_nir(graph, net.dt_s)
    header = {"kind": "module", "module": source or type(module).__name__, "dt_s": net.dt_s,
              "deviations": net.deviations}
    return _report(plan, graph, x, backends, "norse", {"norse": reference(net, x)}, tables, lanes, header, out_dir,
                   save, hardware)
