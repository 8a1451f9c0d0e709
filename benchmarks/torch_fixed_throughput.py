"""torch-fixed throughput: the bit-accurate fixed point in torch vs Lava fixed point with lanes vs
Norse's float forward of the same branch, side by side in one process.

All three run a trained run's exported spiking branch on its test clips (the demo's 468) and on a
larger split made by replicating them (``--large``, default 10,000 clips; Lava runs only the first,
the large split would take it minutes). torch-fixed must give lava-fixed's spikes exactly. Each path
gets a one-clip warm-up, then ``--repeat`` timed runs; the JSON has clips/s (median), peak memory
(tracemalloc for NumPy/torch CPU allocations of each call, the process's max RSS at the end) and the
ratios measured in the same repeat. Absolute times on shared machines are noisy: quote the ratios.

    .venv/bin/python benchmarks/torch_fixed_throughput.py [--run demo/runs/stft] [--large 10000] [--repeat 3]
        [--device cpu|cuda] [--out benchmarks/results/torch_fixed_throughput.json]
"""
from __future__ import annotations

import argparse
import platform
import resource
import time
import tracemalloc
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _timed(fn):
    tracemalloc.start()
    t0 = time.perf_counter()
    out = fn()
    seconds = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return out, seconds, peak


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", default=str(HERE.parent / "demo" / "runs" / "stft"),
                    help="a trained stft/mdft run (default: the one `make demo` trains)")
    ap.add_argument("--large", type=int, default=10000, help="clips of the replicated split (default 10,000)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"], help="where torch-fixed runs")
    ap.add_argument("--out", default=str(HERE / "results" / "torch_fixed_throughput.json"))
    args = ap.parse_args()

    import numpy as np
    import torch
    from exported_run import test_streams
    from neuro_av.export import hybrid
    from neuro_av.export.lava.network import run_plan
    from neuro_av.export.plan import Streams
    from neuro_av.export.torch_fixed import run_fixed_torch

    from neuro_av.io import write_json
    from neuro_av.versions import machine_info

    run, branch, streams = test_streams(Path(args.run))
    small = Streams(*streams)
    snn = hybrid.partition(run).snn
    reps = -(-args.large // small.clips)
    large = Streams({k: np.tile(v, (reps, 1, 1))[:args.large] for k, v in small.currents.items()},
                    {k: (np.tile(v, (reps, 1, 1))[:args.large] if v.shape[0] > 1 else v)
                     for k, v in small.thresholds.items()}, np.tile(small.mask, (reps, 1))[:args.large])
    norse_snn = snn.cpu().float().eval()

    def norse(s: Streams):  # Norse's own float32 forward of the branch, as training runs it
        x = hybrid.snn_input(norse_snn, {k: v.astype(np.float32) for k, v in s.currents.items()},
                             {k: np.asarray(v, np.float32) for k, v in s.thresholds.items()}, s.mask)
        with torch.no_grad():
            return norse_snn(x)

    paths = {"torch-fixed": lambda s: run_fixed_torch(branch.fixed, *s, device=args.device)[0],
             "lava-fixed": lambda s: run_plan(branch.fixed, *s),
             "norse-float": norse}
    for fn in paths.values():
        fn(small.part(0, 1))  # warm-up: one-off imports and allocations are no path's cost
    results, same = {}, True
    for split, streams in (("test", small), ("large", large)):
        runs = {k: [] for k in paths}
        peaks = {k: 0 for k in paths}
        for _ in range(args.repeat):
            for name, fn in paths.items():
                if name == "lava-fixed" and split == "large":
                    continue
                out, seconds, peak = _timed(lambda: fn(streams))
                runs[name].append(streams.clips / seconds)
                peaks[name] = max(peaks[name], peak)
                if name == "torch-fixed":
                    got = out
                if name == "lava-fixed":
                    same = same and all(np.array_equal(got.spikes[k], out.spikes[k]) for k in out.spikes)
        entry = {"clips": streams.clips}
        for name, r in runs.items():
            if r:
                entry[name] = {"clips_per_s": float(np.median(r)), "runs": r, "peak_traced_bytes": peaks[name]}
        per = lambda a, b: [x / y for x, y in zip(runs[a], runs[b])]  # noqa: E731 — ratios within one repeat
        entry["ratios"] = {"torch_fixed_over_norse_float": per("torch-fixed", "norse-float")}
        if runs["lava-fixed"]:
            entry["ratios"]["torch_fixed_over_lava_fixed_lanes"] = per("torch-fixed", "lava-fixed")
        entry["ratios"] = {k: {"median": float(np.median(v)), "min": float(min(v)), "max": float(max(v))}
                           for k, v in entry["ratios"].items()}
        results[split] = entry
        print(f"{split} ({streams.clips} clips): " + ", ".join(
            f"{k} {entry[k]['clips_per_s']:,.0f} clips/s" for k in paths if k in entry) + " | " + ", ".join(
            f"{k} {v['median']:.2f}x" for k, v in entry["ratios"].items()))
    out = {"benchmark": "torch_fixed_throughput", "run": str(Path(args.run).resolve()), "model": run.name,
           "device": args.device, "torch_threads": torch.get_num_threads(), "same_spikes_as_lava_fixed": bool(same),
           "max_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
           "command": "python benchmarks/torch_fixed_throughput.py " + " ".join(
               f"--{k.replace('_', '-')} {v}" for k, v in vars(args).items() if v is not None),
           "machine": {**machine_info(), "python": platform.python_version()}, **results}
    write_json(out, Path(args.out))
    print(f"same spikes as lava-fixed: {same}; wrote {args.out}")


if __name__ == "__main__":
    main()
