"""Training throughput (clips/s) and peak memory per model on the embedded benchmark.

Each model trains in its own fresh process (so peak RSS is its own), one after another in one run,
on the same synthetic data, batch size and step count; the JSON holds absolute figures and the
ratio of each model to AVCA measured in that same run (absolute times on shared machines are noisy),
and the machine they were measured on (CPU model and AVX-512 flag, cores, torch threads, BLAS, versions).

    .venv/bin/python benchmarks/train_throughput.py [--models avca mft] [--steps 30] [--out benchmarks/results/train_throughput.json]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def measure(model_name: str, data_root: str, steps: int, batch_size: int, warmup: int = 3) -> dict:
    import numpy as np
    import torch

    from neuro_av.data.dataset import AVGZSLData, DataConfig
    from neuro_av.models.base import TrainBatch
    from neuro_av.models.registry import build_model, make_config
    from neuro_av.run import clip_batch
    from neuro_av.training.config import training_defaults
    from neuro_av.training.sampler import ClassBalancedSampler

    torch.manual_seed(0)
    data = AVGZSLData(DataConfig(data_root, "SynthAV"))
    clips, seen, _ = data.protocol_set("train")
    text = torch.from_numpy(np.asarray(data.text, dtype=np.float32))
    model = build_model(model_name, make_config(model_name, "SynthAV"))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    k = training_defaults(model_name, "SynthAV").get("clips_per_class", 1)
    sampler = ClassBalancedSampler(clips.targets, batch_size, k, torch.Generator().manual_seed(0))
    targets = torch.from_numpy(np.asarray(clips.targets))
    train_ids = torch.tensor(sorted(seen))
    index_of = torch.full((len(text),), -1, dtype=torch.long)
    index_of[train_ids] = torch.arange(len(train_ids))
    model.train()

    def step():
        pos, neg = sampler.sample()
        batch = TrainBatch(clip_batch(clips, pos, "cpu"), clip_batch(clips, neg, "cpu"), text[targets[pos]],
                           text[targets[neg]], index_of[targets[pos]], text[train_ids])
        loss, _ = model(batch)
        opt.zero_grad()
        loss.backward()
        opt.step()

    for _ in range(warmup):
        step()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    seconds = time.perf_counter() - t0
    return {"model": model_name, "steps": steps, "batch_size": batch_size, "seconds": seconds,
            "clips_per_second": steps * batch_size / seconds,
            "parameters": sum(p.numel() for p in model.parameters()),
            "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "steps_per_clip": int(clips.audio.shape[1])}


def machine() -> dict:
    """The machine the figures were measured on: CPU (model name, AVX-512), cores, torch threads and
    BLAS, platform and library versions (``neuro_av.versions.machine_info``), and Python's version."""
    from neuro_av.versions import machine_info

    return {**machine_info(), "python": platform.python_version()}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="+", default=["avca", "mft"])
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--out", default=str(HERE / "results" / "train_throughput.json"))
    ap.add_argument("--inner", help=argparse.SUPPRESS)
    ap.add_argument("--data", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.inner:
        print(json.dumps(measure(args.inner, args.data, args.steps, args.batch_size)))
        return 0

    from neuro_av.data.synth import SynthConfig, write_synthetic

    with tempfile.TemporaryDirectory() as tmp:
        write_synthetic(Path(tmp), SynthConfig())
        results = []
        for name in args.models:
            out = subprocess.run([sys.executable, __file__, "--inner", name, "--data", tmp, "--steps", str(args.steps),
                                  "--batch-size", str(args.batch_size)], capture_output=True, text=True,
                                 env={**os.environ, "NEURO_AV_CACHE": str(Path(tmp) / "cache")})
            if out.returncode != 0:
                sys.exit(f"benchmark of {name} failed:\n{out.stderr[-2000:]}")
            results.append(json.loads(out.stdout.strip().splitlines()[-1]))
            print(f"{name:>6}: {results[-1]['clips_per_second']:8.1f} clips/s, peak RSS "
                  f"{results[-1]['peak_rss_mib']:.0f} MiB, {results[-1]['parameters']:,} parameters")
    base = next((r for r in results if r["model"] == "avca"), results[0])
    for r in results:
        r["throughput_vs_" + base["model"]] = r["clips_per_second"] / base["clips_per_second"]
    report = {"benchmark": "train_throughput", "command": " ".join(["benchmarks/train_throughput.py", *sys.argv[1:]]),
              "machine": machine(), "results": results}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
