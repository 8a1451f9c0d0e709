"""Co-simulation of a network without host parts: a NIR graph from any tool (``neuro-av sim --nir GRAPH
--input X --dt S``, or :func:`simulate_nir` with an in-memory graph) or a user's Norse module
(``neuro-av sim --module FILE.py:NAME --input X.npy``).

Backends come from :mod:`neuro_av.export.backends`: ``reference`` (the plan in NumPy, the reference
of a graph), ``norse`` (a module's own forward pass, its reference), ``lava-float``, ``lava-fixed``
and ``torch-fixed`` (fixed point calibrated on the input itself). The input is one clip [T, N] or a
batch [B, T, N]. Spikes are reported in the reference's time alignment; read-out populations (LI)
report their largest voltage difference from the reference; every backend's spikes are compared with
the reference's in Dice per layer (:mod:`neuro_av.export.fidelity`).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from neuro_av.export import backends as registry
from neuro_av.export.agreement import agreement_counts, readout_errors
from neuro_av.export.backends import Deployable
from neuro_av.export.compile import compile_graph
from neuro_av.export.fidelity import activity_warnings, fidelity
from neuro_av.export.hardware import with_builtins
from neuro_av.export.lava.fixed_point import quantise_on_input
from neuro_av.export.nir_graph import read_graph
from neuro_av.export.nir_read import dt_of
from neuro_av.export.plan import Record, static_streams
from neuro_av.sim.counts import layer_sums, per_clip
from neuro_av.sim.energy import energy_report, main_energy, reference_tables
from neuro_av.sim.neurobench import neurobench_report

from neuro_av.data.spike_input import binary_inputs, check_dt, check_input, load_input
from neuro_av.errors import DataError

LEGACY_NAMES = {"numpy": "reference"}  # the name the first releases gave the NumPy reference


def _report(net: Deployable, x: np.ndarray, backends, lanes, header: dict, out_dir: Path, save: bool,
            hardware: tuple = (), log=print) -> dict:
    from neuro_av.export.deployment import deployment_plan
    from neuro_av.export.silence import silence_hints
    from neuro_av.sim.report import save_spikes, write_report

    from neuro_av.versions import library_versions

    plan = net.plan
    (inp,) = plan.inputs
    streams = static_streams(plan, {inp: x})
    ref_name = net.reference
    # the reference always runs and is reported: every other backend is measured against it
    names = tuple(dict.fromkeys([ref_name, *registry.choose(net, list(backends))]))
    records = registry.run(names, net, streams, lanes)
    ref = records[ref_name]
    profiles = with_builtins(hardware)  # placement and energy: the built-ins and the user's
    results = {}
    for name in names:
        rec = records[name]
        spikes = {k: v.astype(np.uint8) for k, v in rec.spikes.items()}
        layers, totals = per_clip(plan, layer_sums(plan, {inp: x}, spikes, streams.mask), x.shape[0])
        energy = energy_report(totals, None, profiles)
        same, total = agreement_counts(spikes, ref.spikes, streams.mask)
        results[name] = {"spikes": layers, "totals": totals,
                         "synops": totals["synops"], "graded_synops": totals["graded_synops"],
                         "energy_j": main_energy(energy)[1], "energy": energy,
                         "fidelity": fidelity(spikes, ref.spikes, streams.mask),
                         "spike_agreement_vs_reference": same / max(total, 1),
                         "readout_vs_reference": readout_errors(rec.voltages, ref.voltages),
                         "seconds": rec.stats.get("seconds")}
    warnings = (activity_warnings(ref.spikes, streams.mask, "input") + silence_hints(plan, ref, streams)
                + list((getattr(net.fixed, "report", None) or {}).get("warnings", [])))
    for w in warnings:
        log(f"sim: warning: {w}")
    report = {"format": "neuro-av sim report 2", **header, "reference": ref_name, "clips": int(x.shape[0]),
              "steps": int(x.shape[1]), "backends": results, "notices": plan.notices, "warnings": warnings,
              "neurobench": neurobench_report(plan, net.graph, results),
              "raster": {k: {layer: np.argwhere(s[0] > 0).tolist() for layer, s in records[k].spikes.items()}
                         for k in names},
              "quantisation": net.fixed.report, "energy_tables": reference_tables(profiles), "gpu_energy": None,
              "deployment": deployment_plan(plan, net.graph, int(x.shape[1]), targets=profiles,
                                            spike_inputs=binary_inputs({inp: x})),
              "versions": library_versions()}
    paths = write_report(report, out_dir)
    if save:
        save_spikes({k: {layer: s.astype(np.uint8) for layer, s in records[k].spikes.items()} for k in names},
                    Path(out_dir) / "spikes.npz")
    return paths


def _single_input_plan(graph, dt_s: float, where: str, log=print):
    """The graph compiled (its notices printed); one line if it has more than one input."""
    plan = compile_graph(graph, dt_s)
    for n in plan.notices:
        log(f"sim: notice: {n}")
    if len(plan.inputs) != 1:
        raise DataError(f"{where} has {len(plan.inputs)} inputs; --nir runs graphs with one input (neuro-av "
                        "writes each chain of a branch as its own snn.<chain>.nir)")
    return plan


def deployable_graph(graph, plan, x: np.ndarray) -> Deployable:
    """A compiled NIR graph (any tool's) with a fixed-point plan calibrated on ``x`` itself."""
    (inp,) = plan.inputs
    return Deployable(graph, plan, quantise_on_input(plan, {inp: x}), None, "nir")


def simulate_nir(graph, x: np.ndarray, out_dir: Path, backends=("all",), dt_s: float | None = None,
                 save: bool = False, lanes: int | None = None, hardware: tuple = (), source: str = "in-memory graph",
                 log=print) -> dict:
    """A NIR graph object (e.g. what a peer's ``to_nir`` returned) on input ``x``: the report's paths."""
    dt = dt_of(graph, source, dt_s)
    plan = _single_input_plan(graph, dt, source, log)
    x = check_input(x, next(iter(plan.inputs.values())), owner="graph")
    header = {"kind": "nir", "graph": source, "input": f"an array of shape {tuple(x.shape)} given in Python", "dt_s": dt}
    return _report(deployable_graph(graph, plan, x), x, backends, lanes, header, out_dir, save, hardware, log)


def simulate_graph(graph_path: Path, input_path, dt_s, columns, backends, out_dir: Path,
                   save: bool = False, lanes: int | None = None, hardware: tuple = (), log=print) -> dict:
    if input_path is None:
        raise DataError("--nir needs --input SPIKES (.npy or .csv)")
    check_dt(dt_s)
    graph, dt = read_graph(graph_path, dt_s)
    plan = _single_input_plan(graph, dt, str(graph_path), log)
    x = load_input(Path(input_path), next(iter(plan.inputs.values())), columns, owner="graph")
    net = deployable_graph(graph, plan, x)
    header = {"kind": "nir", "graph": str(Path(graph_path).resolve()), "input": str(Path(input_path).resolve()),
              "dt_s": dt}
    return _report(net, x, backends, lanes, header, out_dir, save, hardware, log)


def deployable_module(module, x: np.ndarray, dt_s: float | None = None) -> tuple[Deployable, object, np.ndarray]:
    """A Norse module as a deployable (its own forward pass the reference), its parsed form and the
    checked input."""
    from neuro_av.export.norse_module import parse, reference, to_nir

    net = parse(module, dt_s)
    x = check_input(x, net.input_width, owner="module")
    graph = to_nir(net)
    plan = compile_graph(graph, net.dt_s)
    (inp,) = plan.inputs

    def forward(streams) -> Record:
        return reference(net, streams.currents[inp])

    from neuro_av.export.finetune_module import module_fixed_plan

    return Deployable(graph, plan, module_fixed_plan(module, plan, {inp: x}), forward, "module"), net, x


def simulate_module(module, x: np.ndarray, backends, out_dir: Path, dt_s: float | None = None,
                    save: bool = False, lanes: int | None = None, source: str | None = None,
                    hardware: tuple = (), log=print) -> dict:
    """A Norse module (``torch.nn.Module``) on input ``x`` ([T, N] or [B, T, N]): the report's paths."""
    check_dt(dt_s)
    dep, net, x = deployable_module(module, x, dt_s)
    header = {"kind": "module", "module": source or type(module).__name__, "dt_s": net.dt_s,
              "deviations": net.deviations}
    return _report(dep, x, backends, lanes, header, out_dir, save, hardware, log)
