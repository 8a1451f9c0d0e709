"""``neuro-av export --module FILE.py:NAME --input X.npy``: a user's Norse network deployed like a run's
branch — NIR (neuro-av's mapping), Lava fixed-point parameters, netx where the network fits it, and a
manifest with the fidelity measured against the module's own forward pass on the given input.

The input is the network's graded input, [T, N] or [B, T, N]; it also calibrates the fixed point.
There is no host part to put in ONNX: a standalone network has no ``pre`` or ``post``.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
import torch
from neuro_av.export.agreement import readout_errors
from neuro_av.export.deploy import (
    DEPLOYMENT_FILE,
    backend_fidelity,
    export_folder,
    FIXED_FILE,
    MANIFEST,
    NIR_FILE,
    firing_rates,
    log_warning,
    netx_fidelity,
    saturation_report,
    sha256,
    write_branch_graphs,
    write_deployment,
)
from neuro_av.export.lava.fixed_point import save_fixed
from neuro_av.export.lava.plan import plan_from_nir
from neuro_av.export.plan import static_streams
from neuro_av.export.nir_graph import read_graph
from neuro_av.export.norse_module import parse, reference, to_nir

from neuro_av.data.spike_input import binary_inputs, check_input
from neuro_av.errors import ExportError
from neuro_av.io import write_json

TARGETS = ("nir", "lava", "netx")
FORMAT = "neuro-av export manifest 2 (module)"


def export_module(module: torch.nn.Module, x: np.ndarray, out_dir: Path, targets: tuple[str, ...] = TARGETS,
                  dt_s: float | None = None, source: str | None = None,
                  log: Callable[[str], None] = print, hardware: tuple = (), force: bool = False) -> dict:
    """Export ``module`` (see :mod:`neuro_av.export.norse_module`) with ``x`` (B, T, N) as calibration
    and check input into ``out_dir``, a folder export owns (:func:`~neuro_av.export.deploy.export_folder`;
    ``force`` takes over a foreign one); returns the manifest."""
    unknown = [t for t in targets if t not in TARGETS]
    if unknown:
        raise ExportError(f"target(s) {', '.join(unknown)} do not apply to a Norse module; choose from "
                          f"{', '.join(TARGETS)} or all (a standalone network has no ONNX host parts)")
    with export_folder(Path(out_dir), force) as stage:
        return _export_module(module, x, stage, targets, dt_s, source, log, hardware)


def _export_module(module, x, out_dir: Path, targets, dt_s, source, log, hardware) -> dict:
    from neuro_av.versions import library_versions

    net = parse(module, dt_s)
    x = check_input(x, net.input_width, owner="module")
    log(f"export: NIR graph of {type(module).__name__} ({len(net.layers)} neuron layers, dt {net.dt_s} s)")
    currents, mask = {net.input_name: x}, np.ones(x.shape[:2], bool)
    spike_inputs = binary_inputs(currents)
    files = write_branch_graphs(to_nir(net), out_dir, spike_inputs)
    graph, dt = read_graph(out_dir / NIR_FILE)
    plan = plan_from_nir(graph, dt)
    log(f"export: the module's own forward pass on {x.shape[0]} clip(s) of {x.shape[1]} steps")
    ref = reference(net, x)
    fidelity = {"clips": int(x.shape[0]), "steps": int(x.shape[1]), "reference": "norse (the module's forward pass, "
                "float64)", "reference_rates": firing_rates(ref.spikes, mask)}
    quantisation = None
    if "lava" in targets:
        from neuro_av.export.finetune_module import module_fixed_plan

        fixed = module_fixed_plan(module, plan, currents)  # as `neuro-av sim --module` calibrates
        fixed.report["calibration"] = {"clips": int(x.shape[0]), "source": "the --input file"}
        fixed.report["saturation"] = saturation_report(fixed, {"input": (currents, {}, mask)})
        for w in fixed.report["saturation"]["warnings"]:
            log_warning(log, w)
        checks, records = backend_fidelity(graph, plan, fixed, static_streams(plan, currents, mask), ref.spikes, log)
        fidelity.update(checks)
        fidelity["lava_float_readout"] = readout_errors(records["lava-float"].voltages, ref.voltages)
        fidelity["lava_fixed_readout"] = readout_errors(records["lava-fixed"].voltages, ref.voltages)
        save_fixed(fixed, out_dir / FIXED_FILE)
        files.append({"path": FIXED_FILE, "kind": "lava-fixed-params"})
        quantisation = fixed.report
    if "netx" in targets:
        netx_files, fidelity["netx"] = netx_fidelity(plan, {net.input_name: float(np.abs(x).max())}, currents, mask,
                                                     out_dir, log)
        files += netx_files
    write_deployment(plan, graph, int(x.shape[1]), out_dir, hardware, log, spike_inputs=spike_inputs)
    files.append({"path": DEPLOYMENT_FILE, "kind": "deployment"})
    for f in files:
        f["sha256"] = sha256(out_dir / f["path"])
    manifest = {"format": FORMAT, "module": source or type(module).__name__, "targets": list(targets),
                "layers": [{"name": net.layer_name(i), "norse": f"{layer.path} ({type(layer.module).__name__})",
                            "kind": layer.kind, "neurons": int(layer.weight.shape[0])}
                           for i, layer in enumerate(net.layers)],
                "dt_s": dt, "time_looped": net.time_looped, "deviations": net.deviations,
                "quantisation": quantisation, "fidelity": fidelity, "files": files, "versions": library_versions()}
    write_json(manifest, out_dir / MANIFEST)
    return manifest
