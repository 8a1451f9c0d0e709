"""``neuro-av sim`` (co-simulation of a run or a foreign NIR graph) and ``neuro-av report`` (re-render)."""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser(
        "sim", help="co-simulate: accuracy, spikes and energy of the deployed hybrid per backend",
        description="Runs pre on the host (torch, on the GPU when present, or --host onnx), the spiking branch on "
        "each backend (norse: float64 reference; lava-float; lava-fixed: bit-accurate Loihi fixed point), post on the "
        "host, and writes DIR/report.json, report.md and report.html. With --nir, runs a foreign NIR graph on an input "
        "spike file instead (backends: reference = NumPy NIR semantics, lava-float, lava-fixed).",
        epilog="examples:\n  neuro-av sim runs/stft --backend all --out runs/stft/sim\n"
        "  neuro-av sim runs/mdft --backend lava-fixed --limit 64 --out /tmp/sim --save-spikes\n"
        "  neuro-av sim runs/stft --workers 2 --out runs/stft/sim\n"
        "  torchrun --nproc_per_node 4 -m neuro_av sim runs/stft --out runs/stft/sim\n"
        "  neuro-av sim --nir lif_norse.nir --input lif.csv --columns 0 --dt 1e-4 --out /tmp/lif",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run", nargs="?", help="a finished `neuro-av train` run folder (stft or mdft)")
    p.add_argument("--backend", action="append", choices=["norse", "lava-float", "lava-fixed", "all"],
                   help="backend(s) to run (repeatable; default all)")
    p.add_argument("--split", default="test", choices=["test", "val", "train", "train_val"])
    p.add_argument("--limit", type=int, help="run this many clips of the split (a fixed-seed sample)")
    p.add_argument("--host", choices=["torch", "onnx"], default="torch", help="where pre and post run")
    p.add_argument("--workers", type=int, default=1, help="shard the clips across this many processes")
    p.add_argument("--energy-table", action="append", default=[], metavar="JSON",
                   help="an extra per-operation energy table (e.g. Loihi 2 figures, with their source)")
    p.add_argument("--save-spikes", action="store_true", help="also write DIR/spikes.npz (<backend>/<layer>)")
    p.add_argument("--nir", help="a foreign NIR graph to run instead of a run folder")
    p.add_argument("--input", help="with --nir: input spikes, .npy [T, N] or .csv (rows = steps)")
    p.add_argument("--columns", help="with --nir and a .csv input: comma-separated input columns (default all)")
    p.add_argument("--dt", type=float, help="with --nir: the graph's time step in seconds (NIR stores none)")
    p.add_argument("--out", required=True, help="report folder")
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--shard", help=argparse.SUPPRESS)  # i/n: internal, used by --workers
    p.set_defaults(handler=run_sim)

    r = sub.add_parser("report", help="re-render report.md and report.html from DIR/report.json",
                       epilog="example: neuro-av report runs/stft/sim")
    r.add_argument("dir", help="a `neuro-av sim --out` folder")
    r.set_defaults(handler=run_report)


def run_sim(args) -> int:
    from neuro_av.lava_compat import guard_lava_processes
    from neuro_av.sim.energy import load_table

    guard_lava_processes()
    tables = [load_table(Path(t)) for t in args.energy_table]
    chosen = args.backend or ["all"]
    if args.nir:
        from neuro_av.sim.foreign import simulate_graph

        backends = ("reference", "lava-float", "lava-fixed") if "all" in chosen else \
            tuple(dict.fromkeys("reference" if b == "norse" else b for b in chosen))
        paths = simulate_graph(Path(args.nir), args.input, args.dt, args.columns, backends, Path(args.out), tables,
                               args.save_spikes)
        _print_summary(json.loads(paths["json"].read_text()), paths)
        return 0
    if not args.run:
        raise ValueError("give a run folder, or --nir GRAPH --input FILE --dt SECONDS")
    from neuro_av.sim.cosim import BACKENDS, SimOptions

    backends = BACKENDS if "all" in chosen else tuple(dict.fromkeys(chosen))
    if args.limit is not None and args.limit < 1:
        raise ValueError(f"--limit must be at least 1, got {args.limit}")
    if args.workers < 1:
        raise ValueError(f"--workers must be at least 1, got {args.workers}")
    opts = SimOptions(backends=backends, split=args.split, limit=args.limit, host=args.host,
                      save_spikes=args.save_spikes, energy_tables=tables, progress=not args.no_progress)
    return _run_sharded(args, opts)


def _run_sharded(args, opts) -> int:
    from neuro_av.export.deploy import prepare_branch
    from neuro_av.export.hybrid import load_run
    from neuro_av.sim.cosim import finalize, read_shard, run_shard, save_spikes, write_shard
    from neuro_av.sim.report import write_report

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    run = load_run(Path(args.run))
    rank, world = int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))
    if args.shard:  # a --workers child: compute one shard, write it, done
        i, n = (int(x) for x in args.shard.split("/"))
        opts.shard = (i, n)
        write_shard(run_shard(run, opts, out), out)
        return 0
    shards = out / "shards"
    if world > 1:  # torchrun: every rank computes its shard, rank 0 merges
        import torch.distributed as dist

        dist.init_process_group("gloo")
        opts.shard = (rank, world)
        write_shard(run_shard(run, opts, shards / str(rank)), shards / str(rank))
        dist.barrier()
        if rank != 0:
            dist.destroy_process_group()
            return 0
        count = world
    elif args.workers > 1:
        count = args.workers
        children = []
        try:
            for i in range(count):
                cmd = [sys.executable, "-m", "neuro_av", *_child_argv(args), "--shard", f"{i}/{count}",
                       "--out", str(shards / str(i)), "--no-progress"]
                children.append(subprocess.Popen(cmd, env={**os.environ, "OMP_NUM_THREADS": "1"}))
            codes = [c.wait() for c in children]
        finally:
            for c in children:
                if c.poll() is None:
                    c.terminate()
                    c.wait()
        if any(codes):
            raise RuntimeError(f"sim shard(s) {[i for i, c in enumerate(codes) if c]} failed; see their messages above")
    else:
        count = 0
    if count:
        branch = prepare_branch(run, out / "snn.nir")
        parts = [read_shard(shards / str(i), branch) for i in range(count)]
    else:
        parts = [run_shard(run, opts, out)]
    report = finalize(run, opts, parts)
    if opts.save_spikes:
        save_spikes(parts, opts, out / "spikes.npz")
    paths = write_report(report, out)
    if world > 1:
        import torch.distributed as dist

        dist.destroy_process_group()
    _print_summary(report, paths)
    return 0


def _child_argv(args) -> list[str]:
    argv = ["sim", args.run, "--split", args.split, "--host", args.host]
    for b in args.backend or ["all"]:
        argv += ["--backend", b]
    if args.limit is not None:
        argv += ["--limit", str(args.limit)]
    if args.save_spikes:
        argv.append("--save-spikes")
    for t in args.energy_table:
        argv += ["--energy-table", t]
    return argv


def _print_summary(report: dict, paths: dict) -> None:
    if report["kind"] != "run":
        print(f"NIR graph {report['graph']} ({report['steps']} steps):")
        for name, b in report["backends"].items():
            print(f"  {name:<11} agreement {b['spike_agreement_vs_reference']:.2%}  spikes {b['totals']['spikes']:,.0f}  "
                  f"SynOps {b['synops']:,.0f}  energy (Loihi 1) {b['energy_j'] * 1e9:.2f} nJ")
        print(f"report: {paths['html']}")
        return
    print(f"{report['model']} on {report['split']} ({report['clips']} clips, host {report['host']}):")
    print(f"  {'backend':<11} {'S':>6} {'U':>6} {'HM':>6} {'ZSL':>6} {'agree':>8} {'spikes/clip':>12} "
          f"{'SynOps/clip':>12} {'energy/clip (Loihi 1)':>22}")
    for name, b in report["backends"].items():
        print(f"  {name:<11} {b['S']:6.2f} {b['U']:6.2f} {b['HM']:6.2f} {b['ZSL']:6.2f} "
              f"{b['spike_agreement_vs_norse']:8.2%} {b['totals']['spikes']:12,.0f} {b['synops']:12,.0f} "
              f"{b['energy_j'] * 1e6:19.3f} µJ")
    print(f"report: {paths['html']}")


def run_report(args) -> int:
    from neuro_av.sim.report import render

    paths = render(Path(args.dir))
    _print_summary(json.loads(paths["json"].read_text()), paths)
    return 0
