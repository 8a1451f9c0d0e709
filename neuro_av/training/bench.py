"""``neuro-av bench``: every model (or ablation variant) trained over several seeds, reported as
mean ± standard deviation with the machine it ran on.

Runs live in ``OUT/<variant>/seed<k>/`` (ordinary run folders); a finished one is reused, an
interrupted one resumed, so the command can be stopped and started again. ``OUT/bench.json`` holds
``models`` (variant → ``S``, ``U``, ``HM``, ``ZSL``, each ``{"mean", "std", "runs"}``) and ``machine``
(CPU, cores, torch threads and BLAS, library versions); ``OUT/bench.md`` the same as a table, plus
which differences between variants exceed their seed spread (|Δ mean| > σ₁ + σ₂, a plain rule of
thumb, not a significance test).

Why the spread matters: on one machine a seeded run is bit for bit repeatable, but the figures move
with the seed, and across machines with the BLAS kernels and thread counts torch uses (the same seed
on another CPU is effectively another draw).
"""
from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from neuro_av.errors import ConfigError
from neuro_av.io import FileFormatError, read_json, write_json, write_text
from neuro_av.run import CONFIG, METRICS, STATE, read_metrics
from neuro_av.training.config import RunSpec, build_configs
from neuro_av.versions import machine_info

METRIC_KEYS = ("S", "U", "HM", "ZSL")


@dataclass(frozen=True)
class Variant:
    model: str
    ablation: str = "none"

    @property
    def label(self) -> str:
        return self.model if self.ablation == "none" else f"{self.model}:{self.ablation}"

    @property
    def folder(self) -> str:
        return self.label.replace(":", "_")


def summarise(values: list[float]) -> dict:
    a = np.asarray(values, np.float64)
    return {"mean": float(a.mean()), "std": float(a.std(ddof=1)) if a.size > 1 else 0.0, "runs": [float(v) for v in a]}


def exceeding_spread(models: dict, pairs: list[tuple[str, str]], key: str = "HM") -> list[dict]:
    """For each pair (a, b): Δ mean of ``key`` and whether it exceeds σ_a + σ_b."""
    out = []
    for a, b in pairs:
        ma, mb = models[a][key], models[b][key]
        delta, spread = ma["mean"] - mb["mean"], ma["std"] + mb["std"]
        out.append({"a": a, "b": b, "metric": key, "delta": delta, "spread": spread, "exceeds": abs(delta) > spread})
    return out


def _payload(config_path: Path) -> dict:
    try:
        cfg = read_json(config_path, "run config", "remove that run folder or use another --out")
    except FileFormatError as exc:
        raise ConfigError(str(exc)) from None
    return {k: cfg.get(k) for k in ("model_name", "model_config", "data_config", "train_config")}


@dataclass
class _Job:
    variant: Variant
    seed: int
    configs: tuple
    run_dir: Path


def plan(variants: list[Variant], seeds: int, base: RunSpec, out: Path) -> list[_Job]:
    """Every run of the bench, each checked (model, ablation, settings, data, a reused folder's settings)
    before the first one trains."""
    from neuro_av.data.dataset import AVGZSLData
    from neuro_av.training.engine import model_payload

    if seeds < 1:
        raise ConfigError(f"--seeds must be at least 1, got {seeds}")
    if not variants:
        raise ConfigError("--models names no model: pass e.g. --models avca,stft")
    labels = [v.label for v in variants]
    if len(set(labels)) != len(labels):
        raise ConfigError(f"--models names a variant twice: {sorted({x for x in labels if labels.count(x) > 1})}")
    jobs, problems = [], []
    for v in variants:
        for seed in range(seeds):
            spec = dataclasses.replace(base, model=v.model, ablation=v.ablation, sets=(*base.sets, f"seed={seed}"))
            try:
                configs = build_configs(spec)
            except ConfigError as exc:
                problems.append(f"{v.label}: {exc}")
                break
            run_dir = out / v.folder / f"seed{seed}"
            wanted = json.loads(json.dumps(model_payload(v.model, *_reorder(configs))))
            if (run_dir / CONFIG).exists() and _payload(run_dir / CONFIG) != wanted:
                problems.append(f"{run_dir} was trained with other settings than asked now; use another --out")
            jobs.append(_Job(v, seed, configs, run_dir))
    if problems:
        raise ConfigError(f"nothing trained, {len(problems)} problem(s): " + "; ".join(problems))
    AVGZSLData(jobs[0].configs[0])  # the dataset's folder and class splits, before any training
    return jobs


def _reorder(configs):
    data_cfg, model_cfg, train_cfg = configs
    return model_cfg, data_cfg, train_cfg


def bench(variants: list[Variant], seeds: int, base: RunSpec, out: Path, pairs: list[tuple[str, str]] | None = None,
          log: Callable[[str], None] = print, show_progress: bool = False, command: str | None = None) -> dict:
    """Train (or reuse) every variant × seed under ``out`` and write ``bench.json`` / ``bench.md``."""
    from neuro_av.training.engine import train_run

    out = Path(out)
    jobs = plan(variants, seeds, base, out)
    results: dict[str, dict[str, list[float]]] = {v.label: {k: [] for k in METRIC_KEYS} for v in variants}
    for done, job in enumerate(jobs, 1):
        v, seed, run_dir = job.variant, job.seed, job.run_dir
        data_cfg, model_cfg, train_cfg = job.configs
        t0 = time.monotonic()
        if (run_dir / METRICS).is_file():
            metrics, how = read_metrics(run_dir / METRICS), "reused"
        else:
            metrics = train_run(run_dir, data_cfg, v.model, model_cfg, train_cfg,
                                resume=(run_dir / STATE).is_file(), show_progress=show_progress,
                                command=f"{command or 'neuro-av bench'}  [run {v.label} seed {seed}]")
            how = f"trained in {time.monotonic() - t0:.0f} s"
        for k in METRIC_KEYS:
            results[v.label][k].append(float(metrics[k]))
        log(f"bench [{done}/{len(jobs)}] {v.label} seed {seed}: S {metrics['S']:.2f} U {metrics['U']:.2f} "
            f"HM {metrics['HM']:.2f} ZSL {metrics['ZSL']:.2f} ({how})")
    models = {label: {k: summarise(vals) for k, vals in r.items()} for label, r in results.items()}
    report = {"format": "neuro-av bench 1", "models": models, "seeds": list(range(seeds)),
              "settings": {"data": str(Path(base.data).resolve()), "dataset": base.dataset, "features": base.features,
                           "epochs": base.epochs, "set": list(base.sets)},
              "comparisons": exceeding_spread(models, pairs or []), "machine": machine_info()}
    write_json(report, out / "bench.json")
    write_text(markdown(report), out / "bench.md")
    return report


def markdown(report: dict) -> str:
    m = report["machine"]
    n = len(report["seeds"])
    lines = [f"Test split, stage 2 at β*; mean ± standard deviation over {n} seed(s) ({', '.join(map(str, report['seeds']))}), "
             f"on this CPU: {m['cpu']} ({m['cores']} cores, torch {m['versions'].get('torch')} with "
             f"{m['torch_threads']} threads).", "",
             "| model | S | U | HM | ZSL |", "|---|---:|---:|---:|---:|"]
    for label, r in report["models"].items():
        lines.append(f"| {label} | " + " | ".join(f"{r[k]['mean']:.2f} ± {r[k]['std']:.2f}" for k in METRIC_KEYS) + " |")
    if n == 1:
        lines += ["", "One seed: ± 0.00 is no spread; pass --seeds 3 or more to compare variants."]
    if report["comparisons"]:
        lines += ["", "Differences against the seed spread (|Δ mean| > σ₁ + σ₂):", ""]
        for c in report["comparisons"]:
            verdict = "exceeds the spread" if c["exceeds"] else "within the spread"
            lines.append(f"- {c['metric']} {c['a']} − {c['b']}: {c['delta']:+.2f} (σ₁ + σ₂ = {c['spread']:.2f}): {verdict}")
    return "\n".join(lines) + "\n"
