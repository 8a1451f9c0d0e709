"""``neuro-av export RUN --target nir|lava|netx|onnx|all``: the deployable artefacts of a run, with
their measured fidelity, in ``RUN/export/`` (``manifest.json`` lists every file).

Fidelity is measured on the first ``check_clips`` test clips: Norse (float64) vs Lava float and Lava
fixed point (fraction of valid spike bins that agree, and the relative change of the clip embeddings
``post`` computes from them), the netx file vs the static-threshold NumPy reference, and ONNX vs
torch (max abs difference). The fixed-point scales come from ``CALIBRATION_CLIPS`` training clips,
so the same run always quantises the same way (``neuro-av sim`` calls :func:`prepare_branch` too).
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from neuro_av.export.fixed_point import FixedPlan, quantise
from neuro_av.export.hybrid import (HybridRun, as_snn_output, clip_range, norse_spikes, spike_agreement,
                                    streams)
from neuro_av.export.lava_plan import LavaPlan, plan_from_nir, simulate
from neuro_av.export.nir_graph import RESET_MODE, read_graph, snn_to_nir, write_graph

TARGETS = ("nir", "lava", "netx", "onnx")
CALIBRATION_CLIPS = 64
MANIFEST = "manifest.json"


@dataclass
class Branch:
    graph: object  # nir.NIRGraph as read back from its file
    dt_s: float
    plan: LavaPlan
    fixed: FixedPlan
    calibration: dict


def branch_graph(run: HybridRun):
    pre, snn, _ = run.model.partition()
    cfg = run.checkpoint["model_config"]
    return snn_to_nir(snn, run.model.cfg.threshold_base, run.dynamic_threshold,
                      config={"model": run.name, **cfg})


def calibrate(run: HybridRun) -> dict:
    """Largest |input| per chain and largest threshold over the first training clips."""
    clips = run.data.protocol_set("train")[0]
    pre = run.model.partition().pre
    with torch.no_grad():
        snn_in, _ = pre(clip_range(clips, 0, min(CALIBRATION_CLIPS, len(clips))))
    currents, thresholds, mask = streams(snn_in)
    return {"clips": int(min(CALIBRATION_CLIPS, len(clips))), "split": "train",
            "input_peak": {k: float(np.abs(v).max()) for k, v in currents.items()},
            "threshold_peak": max(float(np.max(v)) for v in thresholds.values())}


def prepare_branch(run: HybridRun, nir_path: Path) -> Branch:
    """Write the branch's NIR graph, read it back and plan float and fixed-point Lava networks from it."""
    write_graph(branch_graph(run), nir_path)
    graph, dt = read_graph(nir_path)
    plan = plan_from_nir(graph, dt)
    cal = calibrate(run)
    return Branch(graph, dt, plan, quantise(plan, input_peak=cal["input_peak"], threshold_peak=cal["threshold_peak"]), cal)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _save_fixed(fixed: FixedPlan, path: Path) -> None:
    """The integer parameters of the fixed-point network (what Loihi registers would hold)."""
    arrays = {"scale": np.array(fixed.scale)}
    for name, s in fixed.synapses.items():
        arrays.update({f"{name}/weight": s.weight, f"{name}/weight_exp": np.array(s.weight_exp),
                       f"{name}/bias": s.bias, f"{name}/bias_exp": np.array(s.bias_exp)})
    for name in fixed.du:
        arrays.update({f"{name}/du": np.array(fixed.du[name]), f"{name}/dv": np.array(fixed.dv[name]),
                       f"{name}/vth": fixed.vth[name], f"{name}/v_bias": fixed.v_bias[name]})
    for name, q in fixed.input_scale.items():
        arrays[f"{name}/input_scale"] = np.array(q)
    tmp = path.with_name(f".{path.name}.tmp.npz")
    np.savez(tmp, **arrays)
    tmp.replace(path)


def _embedding_change(post, batch, state, ref: list[torch.Tensor], spikes, branch) -> float:
    with torch.no_grad():
        got = post(batch, state, as_snn_output(branch, spikes))
    return max(float((g - r).norm() / r.norm().clamp_min(1e-12)) for g, r in zip(got, ref))


def export_run(run: HybridRun, targets: tuple[str, ...], out_dir: Path, check_clips: int = 16,
               log: Callable[[str], None] = print) -> dict:
    from neuro_av.export.lava_network import run_plan
    from neuro_av.training.checkpoint import write_json_atomic
    from neuro_av.versions import library_versions

    unknown = [t for t in targets if t not in TARGETS]
    if unknown:
        raise ValueError(f"unknown export target(s) {', '.join(unknown)}; choose from {', '.join(TARGETS)} or all")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    clips = run.data.protocol_set("test")[0]
    n = min(check_clips, len(clips))
    batch = clip_range(clips, 0, n)
    pre, snn, post = run.model.partition()
    with torch.no_grad():
        snn_in, state = pre(batch)
        ref_embeddings = post(batch, state, snn(snn_in))
    currents, thresholds, mask = streams(snn_in)
    reference = norse_spikes(snn, snn_in)
    files, fidelity = [], {"check_clips": n, "split": "test"}
    quantisation = None

    log(f"export: NIR graph of the spiking branch ({', '.join(snn.chains)})")
    branch = prepare_branch(run, out_dir / "snn.nir")
    files.append({"path": "snn.nir", "kind": "nir", "dt_s": branch.dt_s,
                  "threshold_inputs": sorted(p.threshold_input for p in branch.plan.populations.values()
                                             if p.threshold_input)})
    if "lava" in targets:
        log(f"export: Lava float on {n} test clips")
        lava_float = run_plan(branch.plan, currents, thresholds, mask=mask).spikes
        fidelity["lava_float_spike_agreement"] = spike_agreement(reference, lava_float, mask)
        log("export: Lava fixed point")
        lava_fixed = run_plan(branch.fixed, currents, thresholds, mask=mask).spikes
        fidelity["lava_fixed_spike_agreement"] = spike_agreement(reference, lava_fixed, mask)
        fidelity["lava_fixed_embedding_rel_change"] = _embedding_change(post, batch, state, ref_embeddings,
                                                                        lava_fixed, snn)
        _save_fixed(branch.fixed, out_dir / "lava_fixed.npz")
        files.append({"path": "lava_fixed.npz", "kind": "lava-fixed-params"})
        quantisation = {**branch.fixed.report, "calibration": branch.calibration}
    if "netx" in targets:
        from neuro_av.export.netx_writer import run_netx, write_netx

        static = simulate(branch.plan, {k: v[:1] for k, v in currents.items()},
                          {p.threshold_input: p.vth for p in branch.plan.populations.values() if p.threshold_input})
        agree = []
        for inp in branch.plan.inputs:
            chain = inp.rsplit(".", 1)[0]
            log(f"export: netx file for chain {chain}")
            info = write_netx(branch.plan, inp, out_dir / f"{chain}.net", branch.calibration["input_peak"][inp])
            last = info["layers"][-1]["population"]
            got = run_netx(out_dir / f"{chain}.net", info, currents[inp][0])
            agree.append(spike_agreement({last: got[None]}, {last: static[last][:1]}, mask[:1]))
            files.append({"path": f"{chain}.net", "kind": "netx", "chain": chain, **info})
        fidelity["netx_static_threshold_spike_agreement"] = float(np.mean(agree))
    if "onnx" in targets:
        from neuro_av.export.onnx_export import export_onnx

        log("export: ONNX pre and post")
        res = export_onnx(run.model, clip_range(clips, 0, min(2, n)), clip_range(clips, 0, n), out_dir)
        files += [{"path": p, "kind": "onnx", "part": part} for part, p in res["files"].items()]
        fidelity["onnx_max_abs_diff"] = res["max_abs_diff"]
    ckpt_path = run.run_dir / "checkpoint.pt"
    manifest = {
        "format": "neuro-av export manifest 1",
        "model": run.name, "targets": list(targets),
        "checkpoint": {"path": str(ckpt_path.resolve()), "sha256": _sha256(ckpt_path),
                       "best_epoch": run.checkpoint.get("best_epoch"), "beta": run.checkpoint.get("beta")},
        "dt_s": branch.dt_s, "reset": RESET_MODE, "dynamic_threshold": run.dynamic_threshold,
        "lava_alignment": "population of depth d (Dense hops from the input) holds reference step t at Lava step t + d",
        "quantisation": quantisation, "fidelity": fidelity, "files": files, "versions": library_versions(),
    }
    write_json_atomic(json.loads(json.dumps(manifest, default=float)), out_dir / MANIFEST)
    return manifest
