"""Lava co-simulation throughput: lanes vs clips back to back vs the naive one-build-per-clip loop.

All three run the same trained run's spiking branch (the files ``neuro-av export`` wrote) on the same
test clips, in one process, one after the other, for Lava float and fixed point, and must give the
same spikes. The JSON holds clips/s of each and the ratios measured side by side (absolute times on
shared machines are noisy; ratios are what to quote).

- ``naive``: one Lava build (compile, start, run, stop) per clip, on the first ``--naive-clips`` clips;
- ``batched``: one build, clips back to back, one window of T + depth Lava steps each (``lanes=1``);
- ``lanes``: one build, every clip in its own lane of the same Lava time steps (lanes chosen from memory).

    .venv/bin/python benchmarks/lava_throughput.py [--run demo/runs/stft] [--clips N] [--naive-clips 8]
        [--out benchmarks/results/lava_throughput.json]
"""
from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", default=str(HERE.parent / "demo" / "runs" / "stft"),
                    help="a trained stft/mdft run (default: the one `make demo` trains)")
    ap.add_argument("--clips", type=int, help="test clips for the batched and lane runs (default: the whole split)")
    ap.add_argument("--naive-clips", type=int, default=8, help="clips through the naive loop (one build each)")
    ap.add_argument("--out", default=str(HERE / "results" / "lava_throughput.json"))
    args = ap.parse_args()

    import numpy as np
    import torch
    from neuro_av.export import hybrid
    from neuro_av.export.deploy import ensure_export
    from neuro_av.export.lava.network import run_plan

    from neuro_av.io import write_json
    from neuro_av.lava_compat import guard_lava_processes
    from neuro_av.run import clip_batch, load_run
    from neuro_av.versions import machine_info

    guard_lava_processes()
    run = load_run(Path(args.run))
    branch = ensure_export(run, ("nir", "lava"))
    clips = run.data.protocol_set("test")[0]
    n = min(args.clips or len(clips), len(clips))
    with torch.no_grad():
        snn_in, _ = hybrid.partition(run).pre(clip_batch(clips, np.arange(n)))
    currents, thresholds, mask = hybrid.streams(snn_in)

    def clip(i):
        return ({k: v[i:i + 1] for k, v in currents.items()},
                {k: v[i:i + 1] if v.shape[0] > 1 else v for k, v in thresholds.items()}, mask[i:i + 1])

    results = {}
    for name, plan in (("lava-float", branch.plan), ("lava-fixed", branch.fixed)):
        lanes, lanes_s = _timed(lambda: run_plan(plan, currents, thresholds, mask=mask))
        batched, batched_s = _timed(lambda: run_plan(plan, currents, thresholds, mask=mask, lanes=1))
        naive_spikes, naive_s = _timed(lambda: [run_plan(plan, *clip(i)[:2], mask=clip(i)[2]).spikes
                                                for i in range(min(args.naive_clips, n))])
        same = all(np.array_equal(lanes.spikes[k], batched.spikes[k]) for k in lanes.spikes) and all(
            np.array_equal(one[k][0], lanes.spikes[k][i]) for i, one in enumerate(naive_spikes) for k in one)
        rate = {"naive": len(naive_spikes) / naive_s, "batched": n / batched_s, "lanes": n / lanes_s}
        results[name] = {
            "naive": {"clips": len(naive_spikes), "seconds": naive_s, "clips_per_s": rate["naive"]},
            "batched": {"clips": n, "seconds": batched_s, "clips_per_s": rate["batched"], "lava_steps": batched.lava_steps},
            "lanes": {"clips": n, "seconds": lanes_s, "clips_per_s": rate["lanes"], "lava_steps": lanes.lava_steps,
                      "build_s": lanes.build_s},
            "same_spikes": bool(same), "clips": n, "lanes_per_step": lanes.lanes, "cores": os.cpu_count(),
            "ratios": {"lanes_over_naive": rate["lanes"] / rate["naive"],
                       "lanes_over_batched": rate["lanes"] / rate["batched"],
                       "batched_over_naive": rate["batched"] / rate["naive"]},
        }
        r = results[name]
        print(f"{name}: lanes {rate['lanes']:.1f} clips/s ({lanes.lanes} lanes), batched {rate['batched']:.1f}, naive "
              f"{rate['naive']:.2f} -> {r['ratios']['lanes_over_naive']:.0f}x naive, "
              f"{r['ratios']['lanes_over_batched']:.1f}x batched; same spikes: {same}")
    out = {"benchmark": "lava_throughput", "run": str(Path(args.run).resolve()), "model": run.name,
           "command": "python benchmarks/lava_throughput.py " + " ".join(f"--{k.replace('_', '-')} {v}"
                                                                         for k, v in vars(args).items() if v is not None),
           "machine": {**machine_info(), "python": platform.python_version()}, **results}
    write_json(out, Path(args.out))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
