"""``neuro-av sim RUN``: the hybrid model on a split, with the spiking branch on each backend.

``pre`` runs on the host (torch — on the GPU when there is one — or the exported ONNX files), the
spiking branch on ``norse`` (float64, the reference), ``lava-float`` or ``lava-fixed`` (all clips
through one compiled Lava network per ≤512 clips), ``post`` back on the host. Each backend gets
S / U / HM / ZSL with the run's β*, spike agreement and accuracy delta against Norse, per-layer
spike counts, firing rates, synaptic operations and neuron updates, and energy estimates.

Sharding: a shard (``--workers``, or a rank under ``torchrun``) runs a contiguous slice of the clips
and keeps raw sums and distances, so merged shards give exactly the figures of a single run.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from neuro_av.export.deploy import prepare_branch
from neuro_av.export.hybrid import HybridRun, agreement_counts, norse_spikes
from neuro_av.models.partition import SnnInput
from neuro_av.sim.counts import layer_sums, merge_sums, per_clip
from neuro_av.sim.energy import CMOS45, LOIHI1, energy_report

BACKENDS = ("norse", "lava-float", "lava-fixed")
RASTER_CLIP = 0  # the clip whose spikes the report plots


@dataclass
class SimOptions:
    backends: tuple[str, ...] = BACKENDS
    split: str = "test"
    limit: int | None = None
    host: str = "torch"
    save_spikes: bool = False
    energy_tables: list = field(default_factory=list)
    progress: bool = True
    shard: tuple[int, int] = (0, 1)


def select_clips(total: int, limit: int | None) -> np.ndarray:
    """All clips, or ``limit`` of them drawn with a fixed seed (so seen and unseen classes both appear)."""
    if limit is None or limit >= total:
        return np.arange(total)
    return np.sort(np.random.default_rng(0).permutation(total)[:limit])


def _bar(total: int, desc: str, enabled: bool):
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="clip", disable=not enabled, leave=False)


def _snn_input(chains: dict, currents, thresholds, mask) -> SnnInput:
    return SnnInput({c: torch.from_numpy(currents[f"{c}.input"]) for c in chains},
                    {c: [torch.from_numpy(thresholds[f"{c}.lif{i}.threshold"]) for i in range(n)] for c, n in chains.items()},
                    torch.from_numpy(mask))


def _nothing():
    import contextlib

    return contextlib.nullcontext()


def _make_host(run: HybridRun, name: str):
    from neuro_av.sim.hosts import OnnxHost, TorchHost
    from neuro_av.training.engine import DistInfo, resolve_device

    if name == "onnx":
        return OnnxHost(run.run_dir / "export", run.model.partition().snn)
    return TorchHost(run.model, resolve_device("auto", DistInfo()))


def run_shard(run: HybridRun, opts: SimOptions, work_dir: Path) -> dict:
    """Raw results of this shard: distances, count sums, agreement counts, timings (and spikes)."""
    from neuro_av.export.lava_network import run_plan
    from neuro_av.training.engine import clip_batch

    clips, seen, unseen = run.data.protocol_set(opts.split)
    chosen = select_clips(len(clips), opts.limit)
    index, count = opts.shard
    mine = np.array_split(chosen, count)[index]
    host = _make_host(run, opts.host)
    Path(work_dir).mkdir(parents=True, exist_ok=True)
    branch = prepare_branch(run, Path(work_dir) / "snn.nir")
    chains = {c: len(layers) for c, layers in host.snn.chains.items()}
    batch_size = int(run.checkpoint["train_config"].get("eval_batch_size", 128))

    from neuro_av.sim.gpu_energy import GpuEnergyMeter

    meter = GpuEnergyMeter() if opts.host == "torch" else None
    handles, cur, thr, msk = [], [], [], []
    bar = _bar(len(mine), "pre", opts.progress)
    for start in range(0, len(mine), batch_size):
        sel = mine[start:start + batch_size]
        with meter or _nothing():
            (c, t, m), handle = host.pre(clip_batch(clips, sel, torch.device("cpu")))
        b, steps = m.shape
        cur.append(c)
        thr.append({k: np.broadcast_to(v, (b, steps, v.shape[-1])) for k, v in t.items()})
        msk.append(m)
        handles.append((len(sel), handle))
        bar.update(len(sel))
    bar.close()
    currents = {k: np.concatenate([c[k] for c in cur]) for k in cur[0]}
    thresholds = {k: np.concatenate([t[k] for t in thr]) for k in thr[0]}
    mask = np.concatenate(msk)
    with torch.no_grad():
        text = torch.from_numpy(np.asarray(run.data.text, dtype=np.float32))
        classes = run.model.cpu().class_embeddings(text).numpy() if opts.host == "onnx" else \
            host.model.class_embeddings(text.to(host.device)).cpu().numpy()

    reference = norse_spikes(host.snn, _snn_input(chains, currents, thresholds, mask))
    raw = {"clips": int(len(mine)), "index": mine, "targets": clips.targets[mine], "backends": {}}
    for name in opts.backends:
        t0 = time.perf_counter()
        lava = None
        if name == "norse":
            spikes = reference
        else:
            plan = branch.plan if name == "lava-float" else branch.fixed
            bar = _bar(len(mine), name, opts.progress)
            lava = run_plan(plan, currents, thresholds, mask=mask, progress=bar.update)
            bar.close()
            spikes = lava.spikes
        snn_s = time.perf_counter() - t0
        dists, start = [], 0
        for n, handle in handles:
            with meter if (meter and name == opts.backends[0]) else _nothing():
                emb = host.post(handle, {k: v[start:start + n] for k, v in spikes.items()})
            dists.append(sum(np.linalg.norm(e[:, None, :] - classes[None], axis=-1) for e in emb))
            start += n
        same, total = agreement_counts(spikes, reference, mask)
        raw["backends"][name] = {
            "distances": np.concatenate(dists).astype(np.float64),
            "sums": layer_sums(branch.plan, currents, spikes, mask),
            "agree": [same, total], "snn_s": snn_s,
            "lava": None if lava is None else {"builds": lava.builds, "lava_steps": lava.lava_steps,
                                               "build_s": lava.build_s, "run_s": lava.run_s},
            "raster": {k: np.argwhere(v[RASTER_CLIP] > 0).tolist() for k, v in spikes.items()} if index == 0 else None,
            "spikes": spikes if opts.save_spikes else None,
        }
    raw["seen"], raw["unseen"] = np.asarray(seen), np.asarray(unseen)
    raw["gpu_energy"] = meter.result(len(mine)) if meter else {"measured": False, "reason": "--host onnx"}
    raw["branch"] = branch
    raw["steps"] = int(mask.shape[1])
    return raw


def finalize(run: HybridRun, opts: SimOptions, parts: list[dict]) -> dict:
    """Merge shard results and compute everything the report shows."""
    from neuro_av.training.metrics import gzsl_evaluate
    from neuro_av.versions import library_versions

    parts = sorted(parts, key=lambda p: int(p["index"][0]) if len(p["index"]) else 1 << 62)
    branch = parts[0]["branch"]
    clips = sum(p["clips"] for p in parts)
    targets = np.concatenate([p["targets"] for p in parts])
    beta = run.checkpoint.get("beta")
    metrics_path = run.run_dir / "metrics.json"
    costs = json.loads(metrics_path.read_text()).get("costs", {}) if metrics_path.is_file() else {}
    ann_macs = costs.get("ann_macs_per_clip")
    backends = {}
    for name in opts.backends:
        per = [p["backends"][name] for p in parts]
        dists = torch.from_numpy(np.concatenate([b["distances"] for b in per]))
        acc = gzsl_evaluate(dists, targets, parts[0]["seen"], parts[0]["unseen"], beta).as_percent()
        layers, totals = per_clip(branch.plan, merge_sums([b["sums"] for b in per]), clips)
        energy = energy_report(totals, ann_macs, opts.energy_tables)
        same, total = (sum(b["agree"][i] for b in per) for i in (0, 1))
        snn_s = sum(b["snn_s"] for b in per)
        backends[name] = {
            **{k: acc[k] for k in ("S", "U", "HM", "ZSL")},
            "spikes": layers, "totals": totals, "synops": totals["synops"] + totals["graded_synops"],
            "energy_j": energy["neuromorphic"]["Loihi 1"]["total"], "energy": energy,
            "spike_agreement_vs_norse": same / max(total, 1),
            "snn_seconds": snn_s, "snn_clips_per_s": clips / max(snn_s, 1e-9),
            "lava": per[0]["lava"] if len(per) == 1 else [b["lava"] for b in per],
        }
    if "norse" in backends:
        for name, b in backends.items():
            b["delta_vs_norse"] = {k: b[k] - backends["norse"][k] for k in ("S", "U", "HM", "ZSL")}
    return {
        "format": "neuro-av sim report 1",
        "kind": "run", "run": str(run.run_dir.resolve()), "model": run.name, "split": opts.split,
        "clips": clips, "limit": opts.limit, "host": opts.host, "shards": len(parts), "beta": beta,
        "steps": parts[0]["steps"], "dt_s": branch.dt_s,
        "model_config": run.checkpoint["model_config"], "train_config": run.checkpoint["train_config"],
        "quantisation": {**branch.fixed.report, "calibration": branch.calibration},
        "backends": backends,
        "raster": {name: parts[0]["backends"][name]["raster"] for name in opts.backends},
        "energy_tables": [LOIHI1, CMOS45, *opts.energy_tables],
        "gpu_energy": parts[0].get("gpu_energy") if len(parts) == 1 else [p.get("gpu_energy") for p in parts],
        "versions": library_versions(),
    }


def save_spikes(parts: list[dict], opts: SimOptions, path: Path) -> None:
    """``<backend>/<layer>`` arrays [clips, T, N] (uint8) in the Norse time alignment."""
    arrays = {}
    for name in opts.backends:
        layers = parts[0]["backends"][name]["spikes"]
        for layer in layers:
            arrays[f"{name}/{layer}"] = np.concatenate([p["backends"][name]["spikes"][layer] for p in parts])
    tmp = path.with_name(f".{path.name}.tmp.npz")
    np.savez_compressed(tmp, **arrays)
    tmp.replace(path)


def write_shard(raw: dict, folder: Path) -> None:
    """A shard's raw results: arrays in ``raw.npz``, the rest in ``raw.json`` (no pickles)."""
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {"index": raw["index"], "targets": raw["targets"], "seen": raw["seen"], "unseen": raw["unseen"]}
    meta = {"clips": raw["clips"], "steps": raw["steps"], "gpu_energy": raw.get("gpu_energy"), "backends": {}}
    for name, b in raw["backends"].items():
        arrays[f"{name}/distances"] = b["distances"]
        for layer, s in (b["spikes"] or {}).items():
            arrays[f"{name}/spikes/{layer}"] = s
        meta["backends"][name] = {k: b[k] for k in ("sums", "agree", "snn_s", "lava", "raster")}
        meta["backends"][name]["has_spikes"] = b["spikes"] is not None
    np.savez(folder / "raw.npz", **arrays)
    (folder / "raw.json").write_text(json.dumps(meta))


def read_shard(folder: Path, branch) -> dict:
    meta = json.loads((folder / "raw.json").read_text())
    with np.load(folder / "raw.npz") as z:
        arrays = {k: z[k] for k in z.files}
    raw = {"clips": meta["clips"], "steps": meta["steps"], "gpu_energy": meta.get("gpu_energy"), "branch": branch,
           "backends": {},
           **{k: arrays[k] for k in ("index", "targets", "seen", "unseen")}}
    for name, b in meta["backends"].items():
        spikes = {k.split("/", 2)[2]: v for k, v in arrays.items() if k.startswith(f"{name}/spikes/")}
        raw["backends"][name] = {**b, "distances": arrays[f"{name}/distances"],
                                 "spikes": spikes if b["has_spikes"] else None}
    return raw
