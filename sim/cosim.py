"""``neuro-av sim RUN``: the hybrid model on a split, with the spiking branch on each backend.

``pre`` runs on the host (torch — on the GPU when there is one — or the exported ONNX files), the
spiking branch on ``norse`` (float64, the reference), ``lava-float`` or ``lava-fixed`` (the files
``neuro-av export`` wrote, run with many clips per Lava time step), ``post`` back on the host. Each
backend gets S / U / HM / ZSL with the run's β*, spike agreement and accuracy delta against the
reference, per-layer spike counts, firing rates, synaptic operations and neuron updates, and energy
estimates.

A shard (:mod:`neuro_av.sim.shards`) runs a slice of the clips and keeps raw sums and distances, so
merged shards give exactly the figures of a single run.
"""
from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from neuro_av.export import hybrid
from neuro_av.export import backends
from neuro_av.export.agreement import agreement_counts
from neuro_av.export.backends import Deployable
from neuro_av.export.fidelity import from_counts, layer_counts, merge_counts, previous_rung, summarise
from neuro_av.export.plan import Record, Streams
from neuro_av.export.deploy import Branch
from neuro_av.export.hardware import with_builtins
from neuro_av.sim.counts import layer_sums, merge_sums, per_clip
from neuro_av.sim.energy import energy_report, main_energy, reference_tables
from neuro_av.sim.neurobench import neurobench_report

from neuro_av.errors import DataError
from neuro_av.gzsl import bootstrap_gzsl, gzsl_evaluate, gzsl_predictions
from neuro_av.run import Run, clip_batch

BACKENDS = ("norse", "lava-float", "quant-float", "lava-fixed", "torch-fixed")
REFERENCE = "norse"
RASTER_CLIP = 0  # the clip whose spikes the report plots


@dataclass
class SimOptions:
    backends: tuple[str, ...] = BACKENDS
    split: str = "test"
    limit: int | None = None
    host: str = "torch"
    save_spikes: bool = False
    progress: bool = True
    lanes: int | None = None  # clips per Lava time step (None: as many as memory allows; 1: back to back)
    hardware: list = field(default_factory=list)  # extra hardware profiles to plan for and price with
    shard: tuple[int, int] = (0, 1)

    def to_json(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in self.__dict__.items()}

    @staticmethod
    def from_json(d: dict) -> "SimOptions":
        return SimOptions(**{**d, "backends": tuple(d["backends"]), "shard": tuple(d["shard"])})


def select_clips(total: int, limit: int | None) -> np.ndarray:
    """All clips, or ``limit`` of them drawn with a fixed seed (so seen and unseen classes both appear)."""
    if limit is None or limit >= total:
        return np.arange(total)
    return np.sort(np.random.default_rng(0).permutation(total)[:limit])


def _bar(total: int, desc: str, enabled: bool):
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="clip", disable=not enabled, leave=False)


def _make_host(run: Run, name: str):
    from neuro_av.sim.hosts import OnnxHost, TorchHost

    from neuro_av.run import resolve_device

    if name == "onnx":
        return OnnxHost(run.export_dir, run.model.cpu())
    return TorchHost(run.model, resolve_device("auto"))


def _distances(run: Run, embeddings: list[np.ndarray], classes: torch.Tensor) -> np.ndarray:
    """The model's own scoring rule (``ZSLModel.embedding_distances``) on host-side embeddings."""
    with torch.no_grad():
        return run.model.embedding_distances([torch.from_numpy(np.asarray(e)) for e in embeddings], classes).numpy()


def deployable_run(run: Run, branch: Branch) -> Deployable:
    """The run's exported branch for the backends; its Norse branch (float64) is the reference."""
    snn = hybrid.partition(run).snn

    def forward(streams: Streams) -> Record:
        return Record(hybrid.norse_reference(snn, hybrid.snn_input(snn, *streams)), {}, {})

    return Deployable(branch.graph, branch.plan, branch.fixed, forward, "run")


def run_shard(run: Run, branch: Branch, opts: SimOptions) -> dict:
    """Raw results of this shard: distances, count sums, agreement counts, timings (and spikes)."""
    clips, seen, unseen = run.data.protocol_set(opts.split)
    index, count = opts.shard
    mine = np.array_split(select_clips(len(clips), opts.limit), count)[index]
    if not len(mine):
        raise DataError(f"the {opts.split} split of {run.run_dir} has no clips for shard {index} of {count}; "
                        "use fewer workers, or a split with clips (--split)")
    host = _make_host(run, opts.host)
    batch_size = int(run.checkpoint["train_config"].get("eval_batch_size", 128))

    from neuro_av.sim.gpu_energy import GpuEnergyMeter

    meter = GpuEnergyMeter() if opts.host == "torch" else None
    handles, cur, thr, msk = [], [], [], []
    bar = _bar(len(mine), "pre", opts.progress)
    for start in range(0, len(mine), batch_size):
        sel = mine[start:start + batch_size]
        with meter or contextlib.nullcontext():
            (c, t, m), handle = host.pre(clip_batch(clips, sel))
        b, steps = m.shape
        cur.append(c)
        thr.append({k: np.broadcast_to(v, (b, steps, v.shape[-1])) for k, v in t.items()})
        msk.append(m)
        handles.append((len(sel), handle))
        bar.update(len(sel))
    bar.close()
    streams = Streams({k: np.concatenate([c[k] for c in cur]) for k in cur[0]},
                      {k: np.concatenate([t[k] for t in thr]) for k in thr[0]}, np.concatenate(msk))
    classes = host.class_embeddings(np.asarray(run.data.text, dtype=np.float32))
    network = deployable_run(run, branch)
    raw = {"clips": int(len(mine)), "index": mine, "targets": clips.targets[mine], "backends": {},
           "seen": np.asarray(seen), "unseen": np.asarray(unseen), "steps": streams.steps}
    names = list(dict.fromkeys([REFERENCE, *opts.backends]))  # the reference first, always
    embeddings: dict[str, list] = {}
    records = backends.run(names, network, streams, opts.lanes, lambda name, n: _bar(n, name, opts.progress))
    reference = records[REFERENCE].spikes
    for name in opts.backends:
        rec = records[name]
        spikes = rec.spikes
        lava = {k: rec.stats[k] for k in ("lanes", "builds", "lava_steps", "build_s", "run_s") if k in rec.stats} or None
        dists, embs, start = [], [], 0
        for n, handle in handles:
            with meter if (meter and name == opts.backends[0]) else contextlib.nullcontext():
                emb = host.post(handle, {k: v[start:start + n] for k, v in spikes.items()})
            dists.append(_distances(run, emb, classes))
            embs.append([np.asarray(e, np.float64) for e in emb])
            start += n
        embeddings[name] = embs
        raw["backends"][name] = {
            "distances": np.concatenate(dists).astype(np.float64),
            "sums": layer_sums(branch.plan, streams.currents, spikes, streams.mask),
            "agree": list(agreement_counts(spikes, reference, streams.mask)), "snn_s": rec.stats["seconds"], "lava": lava,
            "fidelity_counts": {k: layer_counts(spikes[k], reference[k], streams.mask, mine) for k in reference},
            "ladder_counts": _ladder_counts(name, records, reference, streams.mask, mine),
            "chip_counts": rec.stats.get("chip_counts"),
            "raster": {k: np.argwhere(v[RASTER_CLIP] > 0).tolist() for k, v in spikes.items()} if index == 0 else None,
            "spikes": spikes if opts.save_spikes else None,
        }
    for name in opts.backends:
        raw["backends"][name]["embedding_sq"] = _embedding_sq(embeddings[name], embeddings.get(REFERENCE))
    raw["gpu_energy"] = meter.result(len(mine)) if meter else {"measured": False, "reason": "--host onnx"}
    return raw


def finalize(run: Run, branch: Branch, opts: SimOptions, parts: list[dict]) -> dict:
    """Merge shard results and compute everything the report shows."""
    from neuro_av.versions import library_versions

    parts = sorted(parts, key=lambda p: int(p["index"][0]) if len(p["index"]) else 1 << 62)
    clips = sum(p["clips"] for p in parts)
    targets = np.concatenate([p["targets"] for p in parts])
    ann_macs = run.metrics().get("costs", {}).get("ann_macs_per_clip")
    profiles = with_builtins(opts.hardware)
    backends = {}
    for name in opts.backends:
        per = [p["backends"][name] for p in parts]
        dists = np.concatenate([b["distances"] for b in per])
        acc = gzsl_evaluate(dists, targets, parts[0]["seen"], parts[0]["unseen"], run.beta).as_percent()
        layers, totals = per_clip(branch.plan, merge_sums([b["sums"] for b in per]), clips)
        energy = energy_report(totals, ann_macs, profiles)
        same, total = (sum(b["agree"][i] for b in per) for i in (0, 1))
        snn_s = sum(b["snn_s"] for b in per)
        backends[name] = {
            **{k: acc[k] for k in ("S", "U", "HM", "ZSL")},
            "spikes": layers, "totals": totals,
            "synops": totals["synops"], "graded_synops": totals["graded_synops"],
            "energy_j": main_energy(energy)[1], "energy": energy,
            "spike_agreement_vs_reference": same / max(total, 1),
            "fidelity": summarise({k: from_counts(c) for k, c in
                                   merge_counts([b["fidelity_counts"] for b in per]).items()}),
            "fidelity_vs_previous": _ladder(per),
            "chip_counts": None if per[0].get("chip_counts") is None else {
                pop: {k: sum(b["chip_counts"][pop][k] for b in per) for k in c} for pop, c in per[0]["chip_counts"].items()},
            "predictions": gzsl_predictions(dists, parts[0]["seen"], parts[0]["unseen"], run.beta),
            "snn_seconds": snn_s, "snn_clips_per_s": clips / snn_s if snn_s > 0 else None,
            "lava": per[0]["lava"] if len(per) == 1 else [b["lava"] for b in per],
        }
    if REFERENCE in backends:
        ref_pred = backends[REFERENCE]["predictions"][0]
        for b in backends.values():
            b["delta_vs_reference"] = {k: b[k] - backends[REFERENCE][k] for k in ("S", "U", "HM", "ZSL")}
            b["class_agreement_vs_reference"] = float(np.mean(b["predictions"][0] == ref_pred)) if len(ref_pred) else 1.0
    spread = bootstrap_gzsl({n: b["predictions"] for n, b in backends.items()}, targets, parts[0]["seen"],
                            parts[0]["unseen"], reference=REFERENCE)
    for name, b in backends.items():
        b.pop("predictions")
        b["interval"] = spread["intervals"][name]
        if name in spread["delta"]:
            b["delta_interval_vs_reference"] = spread["delta"][name]
        change = _embedding_change([p["backends"][name]["embedding_sq"] for p in parts])
        if change is not None:
            b["embedding_rel_change_vs_reference"] = change
    return {
        "finetuned": _finetuned(run, backends, opts, clips),
        "format": "neuro-av sim report 2",
        "kind": "run", "reference": REFERENCE, "run": str(run.run_dir.resolve()), "model": run.name,
        "split": opts.split, "clips": clips, "limit": opts.limit, "host": opts.host, "shards": len(parts),
        "beta": run.beta, "steps": parts[0]["steps"], "dt_s": branch.dt_s, "simulated_files": branch.files,
        "model_config": run.checkpoint["model_config"], "train_config": run.checkpoint["train_config"],
        "quantisation": branch.fixed.report if branch.fixed else None,
        "deployment": _deployment(branch, opts, parts[0]["steps"]),
        "backends": backends,
        "bootstrap": {k: v for k, v in spread.items() if k not in ("intervals", "delta")},
        "neurobench": neurobench_report(branch.plan, branch.graph, backends),
        "raster": {name: parts[0]["backends"][name]["raster"] for name in opts.backends},
        "energy_tables": reference_tables(profiles),
        "gpu_energy": parts[0].get("gpu_energy") if len(parts) == 1 else [p.get("gpu_energy") for p in parts],
        "versions": library_versions(),
    }


def _finetuned(run: Run, backends: dict, opts: SimOptions, clips: int) -> dict | None:
    """For a ``neuro-av finetune`` run: its own forward is the fixed point; do the fixed-point
    backends give its ``metrics.json`` (test split, every clip)?"""
    if "fixed_point" not in run.checkpoint:
        return None
    m = run.metrics()
    whole = opts.split == "test" and opts.limit is None
    return {"own_forward": "torch-fixed (the fine-tuned model runs its spiking branch in Loihi fixed point)",
            "metrics_json": {k: m.get(k) for k in ("S", "U", "HM", "ZSL")},
            "equal_to_metrics_json": {n: all(abs(b[k] - m[k]) < 1e-9 for k in ("S", "U", "HM", "ZSL"))
                                      for n, b in backends.items() if n in ("lava-fixed", "torch-fixed")}
            if whole and m else None, "clips": clips}


def _ladder_counts(name: str, records: dict, reference: dict, mask, clip_ids) -> dict | None:
    """Layer counts of ``name`` against the ladder rung before it (see :data:`~neuro_av.export.fidelity.LADDER`)."""
    prev = previous_rung(name, records, REFERENCE)
    if prev is None:
        return None
    return {"against": prev, "counts": {k: layer_counts(records[name].spikes[k], records[prev].spikes[k], mask, clip_ids)
                                        for k in reference}}


def _ladder(per: list[dict]) -> dict | None:
    if per[0].get("ladder_counts") is None:
        return None
    merged = merge_counts([b["ladder_counts"]["counts"] for b in per])
    return {"against": per[0]["ladder_counts"]["against"], **summarise({k: from_counts(c) for k, c in merged.items()})}


def _embedding_sq(got: list, ref: list | None) -> list | None:
    """Per embedding part, [Σ‖got − ref‖², Σ‖ref‖²] over this shard's clips (None without the reference)."""
    if ref is None:
        return None
    parts = len(ref[0])
    return [[sum(float(((g[i] - r[i]) ** 2).sum()) for g, r in zip(got, ref)),
             sum(float((r[i] ** 2).sum()) for r in ref)] for i in range(parts)]


def _embedding_change(shards: list) -> float | None:
    """Relative change ‖e − e_ref‖ / ‖e_ref‖ of the clip embeddings over all clips, the largest over
    the model's embedding parts (the export manifest's ``lava_fixed_embedding_rel_change``)."""
    if any(s is None for s in shards):
        return None
    parts = len(shards[0])
    return max(float(np.sqrt(sum(s[i][0] for s in shards) / max(sum(s[i][1] for s in shards), 1e-30)))
               for i in range(parts))


def _deployment(branch: Branch, opts: SimOptions, steps: int) -> dict:
    """The export's plan, or a new one when more hardware profiles are asked for (or none was written)."""
    from neuro_av.export.deployment import deployment_plan

    dep = branch.deployment()
    if dep is None or opts.hardware:
        dep = deployment_plan(branch.plan, branch.graph, steps, targets=with_builtins(opts.hardware))
    return dep


def merged_spikes(parts: list[dict], backends) -> dict[str, dict[str, np.ndarray]]:
    """backend -> layer -> [clips, T, N] (uint8) over all shards, in clip order."""
    parts = sorted(parts, key=lambda p: int(p["index"][0]) if len(p["index"]) else 1 << 62)
    return {name: {layer: np.concatenate([p["backends"][name]["spikes"][layer] for p in parts])
                   for layer in parts[0]["backends"][name]["spikes"]} for name in backends}


def write_shard(raw: dict, folder: Path) -> None:
    """A shard's raw results: arrays in ``raw.npz``, the rest in ``raw.json`` (no pickles)."""
    from neuro_av.io import save_npz, write_json

    arrays = {"index": raw["index"], "targets": raw["targets"], "seen": raw["seen"], "unseen": raw["unseen"]}
    meta = {"clips": raw["clips"], "steps": raw["steps"], "gpu_energy": raw.get("gpu_energy"), "backends": {}}
    for name, b in raw["backends"].items():
        arrays[f"{name}/distances"] = b["distances"]
        for layer, s in (b["spikes"] or {}).items():
            arrays[f"{name}/spikes/{layer}"] = s
        meta["backends"][name] = {k: b[k] for k in ("sums", "agree", "snn_s", "lava", "raster", "fidelity_counts",
                                                    "ladder_counts", "chip_counts", "embedding_sq")}
        meta["backends"][name]["has_spikes"] = b["spikes"] is not None
    save_npz(Path(folder) / "raw.npz", arrays)
    write_json(meta, Path(folder) / "raw.json", indent=None)


def read_shard(folder: Path) -> dict:
    import json

    meta = json.loads((Path(folder) / "raw.json").read_text())
    with np.load(Path(folder) / "raw.npz") as z:
        arrays = {k: z[k] for k in z.files}
    raw = {"clips": meta["clips"], "steps": meta["steps"], "gpu_energy": meta.get("gpu_energy"), "backends": {},
           **{k: arrays[k] for k in ("index", "targets", "seen", "unseen")}}
    for name, b in meta["backends"].items():
        spikes = {k.split("/", 2)[2]: v for k, v in arrays.items() if k.startswith(f"{name}/spikes/")}
        raw["backends"][name] = {**b, "distances": arrays[f"{name}/distances"],
                                 "spikes": spikes if b["has_spikes"] else None}
    return raw
