"""Lava co-simulation throughput: lanes vs clips back to back vs the naive one-build-per-clip loop.

All three run the same trained run's spiking branch (the files ``neuro-av export`` wrote) on the same
test clips, in one process, one after the other, for Lava float and fixed point, and must give the
same spikes. A one-clip warm-up run of each backend comes first, so that Lava's one-off imports are
charged to none of them. The JSON holds clips/s of each and the ratios measured side by side
(absolute times on shared machines are noisy; ratios are what to quote).

- ``naive``: one Lava build (compile, start, run, stop) per clip, on the first ``--naive-clips`` clips;
- ``batched``: one build, clips back to back, one window of T + depth Lava steps each (``lanes=1``);
- ``lanes``: one build, every clip in its own lane of the same Lava time steps (lanes chosen from memory).

    .venv/bin/python benchmarks/lava_throughput.py [--run demo/runs/stft] [--clips N] [--naive-clips 8] [--repeat 3]
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
    ap.add_argument("--repeat", type=int, default=3, help="repeats of the three paths side by side (default 3)")
    ap.add_argument("--out", default=str(HERE / "results" / "lava_throughput.json"))
    args = ap.parse_args()

    import numpy as np
    from exported_run import test_streams
    from neuro_av.export.lava.network import run_plan

    from neuro_av.io import write_json
    from neuro_av.versions import machine_info

    run, branch, (currents, thresholds, mask) = test_streams(Path(args.run), args.clips)
    n = mask.shape[0]

    def clip(i):
        return ({k: v[i:i + 1] for k, v in currents.items()},
                {k: v[i:i + 1] if v.shape[0] > 1 else v for k, v in thresholds.items()}, mask[i:i + 1])

    results = {}
    for plan in (branch.plan, branch.fixed):  # warm-up: Lava's one-off imports are no path's cost
        run_plan(plan, *clip(0)[:2], mask=clip(0)[2])
    for name, plan in (("lava-float", branch.plan), ("lava-fixed", branch.fixed)):
        runs, same = [], True
        for _ in range(args.repeat):  # the three paths side by side, repeated: ratios per repeat
            lanes, lanes_s = _timed(lambda: run_plan(plan, currents, thresholds, mask=mask))
            batched, batched_s = _timed(lambda: run_plan(plan, currents, thresholds, mask=mask, lanes=1))
            naive_spikes, naive_s = _timed(lambda: [run_plan(plan, *clip(i)[:2], mask=clip(i)[2]).spikes
                                                    for i in range(min(args.naive_clips, n))])
            same = same and all(np.array_equal(lanes.spikes[k], batched.spikes[k]) for k in lanes.spikes) and all(
                np.array_equal(one[k][0], lanes.spikes[k][i]) for i, one in enumerate(naive_spikes) for k in one)
            runs.append({"naive": len(naive_spikes) / naive_s, "batched": n / batched_s, "lanes": n / lanes_s})
        rate = {k: float(np.median([r[k] for r in runs])) for k in ("naive", "batched", "lanes")}
        ratios = {"lanes_over_naive": [r["lanes"] / r["naive"] for r in runs],
                  "lanes_over_batched": [r["lanes"] / r["batched"] for r in runs],
                  "batched_over_naive": [r["batched"] / r["naive"] for r in runs]}
        results[name] = {
            "naive": {"clips": len(naive_spikes), "clips_per_s": rate["naive"], "runs": [r["naive"] for r in runs]},
            "batched": {"clips": n, "clips_per_s": rate["batched"], "runs": [r["batched"] for r in runs],
                        "lava_steps": batched.lava_steps},
            "lanes": {"clips": n, "clips_per_s": rate["lanes"], "runs": [r["lanes"] for r in runs],
                      "lava_steps": lanes.lava_steps},
            "same_spikes": bool(same), "clips": n, "lanes_per_step": lanes.lanes, "cores": os.cpu_count(),
            "repeats": args.repeat,
            "ratios": {k: {"median": float(np.median(v)), "min": float(min(v)), "max": float(max(v)), "runs": v}
                       for k, v in ratios.items()},
        }
        r = results[name]["ratios"]
        print(f"{name}: median clips/s lanes {rate['lanes']:.1f} ({lanes.lanes} lanes), batched {rate['batched']:.1f}, "
              f"naive {rate['naive']:.2f} -> lanes/naive {r['lanes_over_naive']['median']:.0f}x "
              f"({r['lanes_over_naive']['min']:.0f}-{r['lanes_over_naive']['max']:.0f}), lanes/batched "
              f"{r['lanes_over_batched']['median']:.1f}x ({r['lanes_over_batched']['min']:.1f}-"
              f"{r['lanes_over_batched']['max']:.1f}); same spikes: {same}")
    out = {"benchmark": "lava_throughput", "run": str(Path(args.run).resolve()), "model": run.name,
           "command": "python benchmarks/lava_throughput.py " + " ".join(f"--{k.replace('_', '-')} {v}"
                                                                         for k, v in vars(args).items() if v is not None),
           "machine": {**machine_info(), "python": platform.python_version()}, **results}
    write_json(out, Path(args.out))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
