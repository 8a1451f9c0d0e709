"""``neuro-av export``: the deployable artefacts of a spiking branch, with their measured fidelity, in
one folder whose ``manifest.json`` lists every file (with its sha256) and the checkpoint it came from.

Files: ``snn.nir`` (the whole branch) and ``snn.<chain>.nir`` (each chain as a single-input graph,
for NIR tools that take one input), ``lava_fixed.npz`` (the fixed-point integers; see
:mod:`neuro_av.export.lava.fixed_point`), ``<chain>.net`` (lava-dl netx, static thresholds), and
``pre.onnx`` / ``post.onnx`` for a run's host parts.

Fidelity is measured on ``check_clips`` test clips drawn class by class with a fixed seed: the
reference (Norse, float64) vs Lava float, Lava fixed point and torch-fixed, run through the backend
routine ``neuro-av sim`` uses (spike Dice per layer with firing rates, the fraction of valid spike bins
that agree, whether torch-fixed equals lava-fixed, and the relative change of the clip embeddings
``post`` computes from Lava fixed point's spikes),
every netx chain, clip and layer vs the static-threshold float model it encodes, and ONNX vs
torch. The fixed-point scales come from ``CALIBRATION_CLIPS`` training clips drawn the same way;
every value the host clips and every 24-bit wrap or saturation on chip is counted on the
calibration and check clips, with a warning past the stated limits.

The folder is ``export``'s own (:func:`export_folder`): a folder holding anything else is refused
(``force`` takes it over), one process writes it at a time, and files are written in a private
folder and moved in when the export is complete, ``manifest.json`` last, with the files of an
earlier export that this one does not write again removed; an interrupted export leaves the folder
as it was.

``neuro-av sim`` reads these files (:func:`load_branch`) and re-exports first when they are missing
or older than the checkpoint (:func:`ensure_export`).
"""
from __future__ import annotations

import hashlib
import json
from neuro_av import console
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import nir
import numpy as np
import torch
from neuro_av.export import backends, hybrid
from neuro_av.export.backends import Deployable
from neuro_av.export.fidelity import LADDER, activity_warnings, fidelity, previous_rung
from neuro_av.export.plan import Streams
from neuro_av.export.agreement import per_layer_agreement, spike_agreement
from neuro_av.export.lava.fixed_point import (
    FixedPlan,
    host_clips,
    load_fixed,
    quantise,
    save_fixed,
)
from neuro_av.export.lava.plan import LavaPlan, plan_from_nir, simulate
from neuro_av.export.nir_graph import (
    RESET_MODE,
    chain_graph,
    read_graph,
    record_input_kind,
    snn_to_nir,
    write_graph,
)

from neuro_av.errors import ExportError
from neuro_av.io import OutputError, check_claim, write_json
from neuro_av.output import output_folder
from neuro_av.run import Run, clip_batch

TARGETS = ("nir", "lava", "netx", "onnx")
MANIFEST = "manifest.json"
NIR_FILE = "snn.nir"
FIXED_FILE = "lava_fixed.npz"
DEPLOYMENT_FILE = "deployment.json"
FORMAT = "neuro-av export manifest 2"
COMMAND = "export"  # the marker's name for an export folder (neuro_av.io.claim_folder)
FIXED_NAMES = (MANIFEST, DEPLOYMENT_FILE, NIR_FILE, FIXED_FILE, "pre.onnx", "post.onnx")  # besides the manifest's
CALIBRATION_CLIPS = 64
CALIBRATION_SEED = 0
CHECK_SEED = 1
# Limits past which export warns (in the manifest and on the terminal): fractions of valid values.
INPUT_CLIP_WARN = 0.01  # graded inputs clipped to the payload
THRESHOLD_CLIP_WARN = 0.0  # streamed thresholds beyond the 17-bit register
WRAP_WARN = 0.0  # 24-bit current wraps (they flip a neuron's sign: never harmless)
SATURATION_WARN = 0.001  # 24-bit voltage saturations


@dataclass
class Branch:
    """The deployed spiking branch as export wrote it."""

    graph: nir.NIRGraph
    dt_s: float
    plan: LavaPlan
    fixed: FixedPlan | None
    files: dict[str, dict] = field(default_factory=dict)  # kind -> {"path", "sha256"}

    def deployment(self) -> dict | None:
        path = self.files.get("deployment", {}).get("path")
        return json.loads(Path(path).read_text()) if path else None


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def firing_rates(spikes: dict[str, np.ndarray], mask: np.ndarray) -> dict[str, float]:
    """Mean firing rate per layer over valid bins: an agreement of 1.0 means little if nothing fires."""
    valid = np.asarray(mask, bool)
    return {k: float(v[valid].mean()) for k, v in spikes.items()}


def log_warning(log: Callable[[str], None], warning: str, who: str = "export") -> None:
    """``warning`` as one console entry, wrapped within 100 columns."""
    log("\n".join(console.wrap(f"{who}: warning: {warning}", 100, subsequent_indent="  ")))


def write_branch_graphs(graph: nir.NIRGraph, out_dir: Path, spike_inputs=()) -> list[dict]:
    """``snn.nir`` and one ``snn.<chain>.nir`` per chain, each recording which inputs carry binary
    spikes (``spike_inputs``; graded otherwise) in its metadata; returns their manifest entries."""
    graph = record_input_kind(graph, spike_inputs)
    write_graph(graph, out_dir / NIR_FILE)
    entries = [{"path": NIR_FILE, "kind": "nir"}]
    inputs = [k for k, n in graph.nodes.items() if isinstance(n, nir.Input)]
    if len(inputs) > 1:
        for inp in inputs:
            chain = inp.rsplit(".", 1)[0]
            name = f"snn.{chain}.nir"
            write_graph(chain_graph(graph, inp), out_dir / name)
            entries.append({"path": name, "kind": "nir-chain", "input": inp})
    return entries


def calibrate(currents: dict, thresholds: dict, mask: np.ndarray) -> dict:
    """Largest |input| per graded input and largest value per threshold stream, over valid steps."""
    valid = np.asarray(mask, bool)
    return {"input_peak": {k: float(np.abs(np.asarray(v)[valid]).max()) for k, v in currents.items()},
            "threshold_peak": {k: float(np.max(np.broadcast_to(v, (*valid.shape, np.shape(v)[-1]))[valid]))
                               for k, v in thresholds.items()}}


def saturation_report(fixed: FixedPlan, sets: dict[str, tuple]) -> dict:
    """Per stream and population, what was clipped, wrapped or saturated on each set of clips
    (``{set name: (currents, thresholds, mask)}``), with a warning for each figure past its limit."""
    from neuro_av.export.lava.oracle import run_fixed_plan

    report, warnings = {}, []
    for set_name, (currents, thresholds, mask) in sets.items():
        clips = host_clips(fixed, currents, thresholds, mask)
        _, chip = run_fixed_plan(fixed, currents, thresholds, mask)
        steps = float(np.asarray(mask, bool).sum())
        entry = {"host": clips, "chip": {}}
        for name, c in clips.items():
            frac = c["clipped"] / max(c["values"], 1)
            limit = THRESHOLD_CLIP_WARN if name.endswith(".threshold") else INPUT_CLIP_WARN
            if frac > limit:
                warnings.append(f"{set_name}: {frac:.2%} of {name} values clipped (limit {limit:.2%})")
        for pop, c in chip.items():
            updates = steps * fixed.populations[pop].size
            entry["chip"][pop] = {**c, "neuron_steps": int(updates)}
            for key, limit in (("u_wraps", WRAP_WARN), ("v_saturations", SATURATION_WARN)):
                if c[key] / max(updates, 1) > limit:
                    warnings.append(f"{set_name}: {pop} {key.replace('_', ' ')} in {c[key] / updates:.3%} of "
                                    f"neuron-steps (limit {limit:.2%})")
        report[set_name] = entry
    return {"sets": report, "limits": {"input_clip": INPUT_CLIP_WARN, "threshold_clip": THRESHOLD_CLIP_WARN,
                                       "u_wrap": WRAP_WARN, "v_saturation": SATURATION_WARN},
            "warnings": warnings}


def netx_fidelity(plan: LavaPlan, input_peak: dict, currents: dict, mask: np.ndarray, out_dir: Path,
                  log: Callable[[str], None]) -> tuple[list[dict], dict]:
    """Write every chain as netx and compare it, clip by clip and layer by layer, with the
    static-threshold float model it encodes (netx has no threshold input)."""
    from neuro_av.export.netx_writer import netx_refusal, run_netx, write_netx

    static = simulate(plan, currents, {p.threshold_input: p.vth for p in plan.populations.values()
                                       if p.threshold_input}, mask).spikes
    files, per_chain = [], {}
    for inp in plan.inputs:
        chain = inp.rsplit(".", 1)[0]
        why = netx_refusal(plan, inp)
        if why:
            per_chain[chain] = {"written": False, "reason": why}
            continue
        log(f"export: netx file for chain {chain}")
        info = write_netx(plan, inp, out_dir / f"{chain}.net", input_peak[inp])
        got = run_netx(out_dir / f"{chain}.net", info, currents[inp], mask)
        layers = per_layer_agreement(got, {k: static[k] for k in got}, mask)
        per_chain[chain] = {"written": True, "layers": layers, "agreement": spike_agreement(got, static, mask)}
        files.append({"path": f"{chain}.net", "kind": "netx", "chain": chain, **info})
    written = [c["agreement"] for c in per_chain.values() if c["written"]]
    return files, {"compared_with": "the float model with static thresholds θ_0 (what a netx file encodes)",
                   "agreement": float(np.mean(written)) if written else None, "chains": per_chain}


def backend_fidelity(graph, plan: LavaPlan, fixed: FixedPlan, streams: Streams, reference: dict,
                     log: Callable[[str], None]) -> tuple[dict, dict]:
    """Lava float, Lava fixed point and torch-fixed on the check streams, through the same backend
    routine as ``neuro-av sim``: (fidelity entries against ``reference`` spikes, records by backend)."""
    net = Deployable(graph, plan, fixed)
    records = {}
    for name in ("lava-float", "quant-float", "lava-fixed", "torch-fixed"):
        log(f"export: {name} on {streams.clips} check clip(s)")
        records.update(backends.run([name], net, streams))
    spikes = {n: r.spikes for n, r in records.items()}
    mask = streams.mask
    warnings = activity_warnings(reference, mask, "check clips")
    for w in warnings:
        log_warning(log, w)
    return {"lava_float_spike_agreement": spike_agreement(reference, spikes["lava-float"], mask),
            "lava_fixed_spike_agreement": spike_agreement(reference, spikes["lava-fixed"], mask),
            "lava_fixed_layer_agreement": per_layer_agreement(reference, spikes["lava-fixed"], mask),
            "spike_dice": {n: fidelity(s, reference, mask) for n, s in spikes.items()},
            "ladder": {n: {"against": previous_rung(n, spikes, "norse"), **fidelity(spikes[n], spikes[prev], mask)}
                       for n in LADDER if (prev := previous_rung(n, spikes, "norse"))},
            "torch_fixed_equals_lava_fixed": all(np.array_equal(spikes["torch-fixed"][k], spikes["lava-fixed"][k])
                                                 for k in spikes["lava-fixed"]),
            "warnings": warnings}, records


def write_deployment(plan, graph, steps: int | None, out_dir: Path, hardware: tuple = (),
                     log: Callable[[str], None] = print, input_bits: int = 8, spike_inputs=()) -> dict:
    """``deployment.json``: the placement on each target and the host-chip link (printed in short);
    ``spike_inputs``: inputs that carry binary spikes (graded otherwise)."""
    from neuro_av.export.deployment import DEFAULT_TARGETS, deployment_plan, summary

    dep = deployment_plan(plan, graph, steps, input_bits=input_bits, targets=(*DEFAULT_TARGETS, *hardware),
                          spike_inputs=spike_inputs)
    write_json(dep, Path(out_dir) / DEPLOYMENT_FILE)
    for line in summary(dep, width=100 - len("plan: ")):
        log(f"plan: {line}")
    return dep


# -- a trained run ------------------------------------------------------------------------------

def branch_graph(run: Run) -> nir.NIRGraph:
    snn = hybrid.partition(run).snn
    return snn_to_nir(snn, run.model.cfg.threshold_base, hybrid.dynamic_threshold(run),
                      config={"model": run.name, **run.checkpoint["model_config"]})


def run_streams(run: Run, split: str, n: int, seed: int):
    """(batch, pre-state, (currents, thresholds, mask)) of ``n`` clips of ``split`` drawn class by class."""
    clips = run.data.protocol_set(split)[0]
    batch = clip_batch(clips, clips.stratified(n, seed))
    with torch.no_grad():
        snn_in, state = hybrid.partition(run).pre(batch)
    return batch, state, snn_in


def _embedding_change(post, batch, state, ref: list[torch.Tensor], snn, spikes) -> float:
    with torch.no_grad():
        got = post(batch, state, hybrid.as_snn_output(snn, spikes))
    return max(float((g - r).norm() / r.norm().clamp_min(1e-12)) for g, r in zip(got, ref))


def _manifest_files(folder: Path) -> list[str]:
    """The files an export manifest in ``folder`` lists (of any neuro-av export format), or []."""
    try:
        manifest = json.loads((Path(folder) / MANIFEST).read_text())
    except (OSError, ValueError):
        return []
    if not (isinstance(manifest, dict) and str(manifest.get("format", "")).startswith("neuro-av export manifest")):
        return []
    return [f["path"] for f in manifest.get("files", []) if isinstance(f, dict) and isinstance(f.get("path"), str)
            and "/" not in f["path"]]


def owned_files(folder: Path) -> set[str]:
    """The names an export writes or wrote in ``folder``: the fixed ones and those its manifest lists."""
    return {*FIXED_NAMES, *_manifest_files(folder)}


def export_folder(out_dir: Path, force: bool = False, what: str = "--out"):
    """``with export_folder(out) as stage:`` — write an export into ``stage``; it replaces the export in
    ``out`` when the block ends normally (:func:`neuro_av.output.output_folder`). A folder of a
    neuro-av export from before markers is recognised as export's own."""
    return output_folder(Path(out_dir), COMMAND, owned_files, force=force, adopt=bool(_manifest_files(out_dir)),
                         last=(MANIFEST,), what=what)


def export_run(run: Run, targets: tuple[str, ...], out_dir: Path | None = None, check_clips: int = 16,
               log: Callable[[str], None] = print, hardware: tuple = (), force: bool = False) -> dict:
    """Export ``run`` into ``out_dir`` (default ``RUN/export``), a folder export owns (see
    :func:`export_folder`; ``force`` takes over a foreign one); returns the manifest."""
    unknown = [t for t in targets if t not in TARGETS]
    if unknown:
        raise ExportError(f"unknown export target(s) {', '.join(unknown)}; choose from {', '.join(TARGETS)} or all")
    with export_folder(Path(out_dir or run.export_dir), force) as stage:
        return _export_run(run, targets, stage, check_clips, log, hardware)


def _export_run(run: Run, targets: tuple[str, ...], out_dir: Path, check_clips: int, log: Callable[[str], None],
                hardware: tuple) -> dict:
    from neuro_av.versions import library_versions

    pre, snn, post = hybrid.partition(run)
    log(f"export: NIR graph of the spiking branch ({', '.join(snn.chains)})")
    files = write_branch_graphs(branch_graph(run), out_dir)
    graph, dt = read_graph(out_dir / NIR_FILE)
    plan = plan_from_nir(graph, dt)
    _, _, cal_in = run_streams(run, "train", CALIBRATION_CLIPS, CALIBRATION_SEED)
    cal = hybrid.streams(cal_in)
    calibration = {"clips": int(cal[2].shape[0]), "split": "train", "sampling": "class by class, seed 0",
                   **calibrate(*cal)}
    batch, state, snn_in = run_streams(run, "test", check_clips, CHECK_SEED)
    currents, thresholds, mask = hybrid.streams(snn_in)
    with torch.no_grad():
        ref_embeddings = post(batch, state, snn(snn_in))
    reference = hybrid.norse_reference(snn, snn_in)
    fidelity = {"check_clips": int(mask.shape[0]), "split": "test", "sampling": f"class by class, seed {CHECK_SEED}",
                "reference": "norse (float64)", "reference_rates": firing_rates(reference, mask)}
    quantisation = None
    if "lava" in targets:
        # a fine-tuned run was trained with its frozen calibration: its integers are the ones to write
        fixed = quantise(plan, input_peak=calibration["input_peak"], threshold_peak=calibration["threshold_peak"],
                         frozen=(run.checkpoint.get("fixed_point") or {}).get("calibration"))
        fixed.report["calibration"] = calibration
        fixed.report["saturation"] = saturation_report(fixed, {"calibration": cal, "check": (currents, thresholds, mask)})
        for w in fixed.report.get("warnings", []) + fixed.report["saturation"]["warnings"]:
            log_warning(log, w)
        checks, records = backend_fidelity(graph, plan, fixed, Streams(currents, thresholds, mask), reference, log)
        fidelity.update(checks)
        fidelity["lava_fixed_embedding_rel_change"] = _embedding_change(post, batch, state, ref_embeddings, snn,
                                                                        records["lava-fixed"].spikes)
        save_fixed(fixed, out_dir / FIXED_FILE)
        files.append({"path": FIXED_FILE, "kind": "lava-fixed-params"})
        quantisation = fixed.report
    if "netx" in targets:
        netx_files, fidelity["netx"] = netx_fidelity(plan, calibration["input_peak"], currents, mask, out_dir, log)
        files += netx_files
    if "onnx" in targets:
        from neuro_av.export.onnx_export import export_onnx

        log("export: ONNX pre and post")
        clips = run.data.protocol_set("test")[0]
        res = export_onnx(run.model, clip_batch(clips, np.arange(min(2, len(clips)))), batch, out_dir)
        files += [{"path": p, "kind": "onnx", "part": part} for part, p in res["files"].items()]
        fidelity["onnx_max_abs_diff"] = res["max_abs_diff"]
    write_deployment(plan, graph, int(mask.shape[1]), out_dir, hardware, log)
    files.append({"path": DEPLOYMENT_FILE, "kind": "deployment"})
    for f in files:
        f["sha256"] = sha256(out_dir / f["path"])
    manifest = {
        "format": FORMAT, "model": run.name, "targets": list(targets),
        "checkpoint": {"path": str(run.checkpoint_path.resolve()), "sha256": sha256(run.checkpoint_path),
                       "best_epoch": run.checkpoint.get("best_epoch"), "beta": run.beta},
        "dt_s": dt, "reset": RESET_MODE, "dynamic_threshold": hybrid.dynamic_threshold(run),
        "threshold_inputs": sorted(p.threshold_input for p in plan.populations.values() if p.threshold_input),
        "lava_alignment": "population of depth d (Dense hops from the input) holds reference step t at Lava step t + d",
        "quantisation": quantisation, "fidelity": fidelity, "files": files, "versions": library_versions(),
    }
    write_json(manifest, out_dir / MANIFEST)
    return manifest


# -- reading an export back ---------------------------------------------------------------------

def read_manifest(export_dir: Path) -> dict | None:
    path = Path(export_dir) / MANIFEST
    if not path.is_file():
        return None
    try:
        manifest = json.loads(path.read_text())
    except json.JSONDecodeError:
        return None
    return manifest if manifest.get("format") == FORMAT else None


def load_branch(export_dir: Path) -> Branch:
    """The branch as ``neuro-av export`` wrote it: the NIR graph, its float plan and, if exported,
    the fixed-point plan; ``files`` names each with its sha256."""
    export_dir = Path(export_dir)
    graph, dt = read_graph(export_dir / NIR_FILE)
    plan = plan_from_nir(graph, dt)
    files = {"nir": {"path": str((export_dir / NIR_FILE).resolve()), "sha256": sha256(export_dir / NIR_FILE)}}
    if (export_dir / DEPLOYMENT_FILE).is_file():
        files["deployment"] = {"path": str((export_dir / DEPLOYMENT_FILE).resolve()),
                               "sha256": sha256(export_dir / DEPLOYMENT_FILE)}
    fixed = None
    if (export_dir / FIXED_FILE).is_file():
        fixed = load_fixed(export_dir / FIXED_FILE, plan)
        files["lava-fixed-params"] = {"path": str((export_dir / FIXED_FILE).resolve()),
                                      "sha256": sha256(export_dir / FIXED_FILE)}
    return Branch(graph, dt, plan, fixed, files)


def export_status(run: Run, needs: tuple[str, ...]) -> str | None:
    """Why ``RUN/export`` cannot serve ``needs`` (targets) as it is, or None when it can."""
    manifest = read_manifest(run.export_dir)
    if manifest is None:
        return f"{run.export_dir / MANIFEST} is missing or from another neuro-av version"
    if manifest["checkpoint"]["sha256"] != sha256(run.checkpoint_path):
        return f"{run.export_dir} was exported from another checkpoint than {run.checkpoint_path}"
    missing = [t for t in needs if t not in manifest["targets"]]
    if missing:
        return f"{run.export_dir} has no {', '.join(missing)} export"
    for f in manifest["files"]:
        path = run.export_dir / f["path"]
        if not path.is_file() or sha256(path) != f["sha256"]:
            return f"{path} is missing or changed since the export"
    try:
        load_branch(run.export_dir)
    except ExportError as exc:  # e.g. written by another neuro-av version
        return str(exc)
    return None


def ensure_export(run: Run, needs: tuple[str, ...], log: Callable[[str], None] = print,
                  check_clips: int = 16) -> Branch:
    """``RUN/export`` read back, after exporting first if it is missing, stale or lacks a target; a run
    without a spiking branch (AVCA, MFT, MDFT's mlp_snn) is refused before anything is exported."""
    hybrid.partition(run)  # raises RunError, naming the model, when there is nothing to deploy
    why = export_status(run, needs)
    if why is not None:
        manifest = read_manifest(run.export_dir) or {}
        targets = tuple(t for t in TARGETS if t in set(needs) | set(manifest.get("targets", [])))
        try:
            check_claim(run.export_dir, COMMAND, adopt=bool(_manifest_files(run.export_dir)))
        except OutputError:
            raise ExportError(f"{run.export_dir} must be re-exported ({why}) but holds files `neuro-av export` did "
                              f"not write: move them away, or run `neuro-av export {run.run_dir} --force`") from None
        log("\n".join(console.wrap(f"sim: {why}; exporting ({', '.join(targets)}) first", 100,
                                   subsequent_indent="  ")))
        with export_folder(run.export_dir, what="the export folder") as stage:
            _export_run(run, targets, stage, check_clips, log, ())
    return load_branch(run.export_dir)
