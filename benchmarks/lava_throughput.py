"""Lava co-simulation throughput: many clips per compiled network vs the naive one-compile-per-clip loop.

Both ways run the same trained run's spiking branch on the same test clips, in one process, one after
the other, for Lava float and fixed point; the JSON holds clips/s of each and the ratio batched/naive
measured side by side (absolute times on shared machines are noisy; ratios are what to quote).

    .venv/bin/python benchmarks/lava_throughput.py [--run demo/runs/stft] [--clips 64] [--naive-clips 8]
        [--out benchmarks/results/lava_throughput.json]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", default=str(HERE.parent / "demo" / "runs" / "stft"),
                    help="a trained stft/mdft run (default: the one `make demo` trains)")
    ap.add_argument("--clips", type=int, default=64, help="clips through the batched network")
    ap.add_argument("--naive-clips", type=int, default=8, help="clips through the naive loop (one build each)")
    ap.add_argument("--out", default=str(HERE / "results" / "lava_throughput.json"))
    args = ap.parse_args()

    import tempfile

    import numpy as np
    import torch
    from neuro_av.export.deploy import prepare_branch
    from neuro_av.export.hybrid import clip_range, load_run, streams
    from neuro_av.export.lava.network import run_plan

    run = load_run(Path(args.run))
    clips = run.data.protocol_set("test")[0]
    with torch.no_grad():
        snn_in, _ = run.model.partition().pre(clip_range(clips, 0, args.clips))
    currents, thresholds, mask = streams(snn_in)
    with tempfile.TemporaryDirectory() as tmp:
        branch = prepare_branch(run, Path(tmp) / "snn.nir")
    results = {}
    for name, plan in (("lava-float", branch.plan), ("lava-fixed", branch.fixed)):
        t0 = time.perf_counter()
        batched = run_plan(plan, currents, thresholds, mask=mask)
        batched_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        for i in range(args.naive_clips):
            one = run_plan(plan, {k: v[i:i + 1] for k, v in currents.items()},
                           {k: v[i:i + 1] if v.shape[0] > 1 else v for k, v in thresholds.items()}, mask=mask[i:i + 1])
            for k in one.spikes:  # same answer, clip by clip
                assert np.array_equal(one.spikes[k][0], batched.spikes[k][i]), (name, k, i)
        naive_s = time.perf_counter() - t0
        results[name] = {"batched_clips": args.clips, "batched_s": batched_s,
                         "batched_clips_per_s": args.clips / batched_s, "builds": batched.builds,
                         "naive_clips": args.naive_clips, "naive_s": naive_s,
                         "naive_clips_per_s": args.naive_clips / naive_s,
                         "speedup_batched_over_naive": (args.clips / batched_s) / (args.naive_clips / naive_s)}
        print(f"{name}: batched {results[name]['batched_clips_per_s']:.1f} clips/s, naive "
              f"{results[name]['naive_clips_per_s']:.2f} clips/s -> {results[name]['speedup_batched_over_naive']:.1f}x")
    out = {"benchmark": "lava_throughput", "run": str(Path(args.run).resolve()), "model": run.name,
           "machine": {"cpus": os.cpu_count(), "python": platform.python_version()}, "results": results}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
