"""``neuro-av sim`` (co-simulation of a run or a foreign NIR graph) and ``neuro-av report`` (re-render)."""
from __future__ import annotations

import argparse
import json
from neuro_av import console
from pathlib import Path

from neuro_av.data.spike_input import check_dt
from neuro_av.errors import ConfigError
from neuro_av.cli.plan import HARDWARE_HELP

BACKEND_NAMES = ("norse", "reference", "lava-float", "quant-float", "lava-fixed", "torch-fixed")  # = neuro_av.export.backends.NAMES


def register(sub) -> None:
    p = sub.add_parser(
        "sim", help="co-simulate: accuracy, spikes and energy of the deployed hybrid per backend",
        description="Runs pre on the host (torch, on the GPU when present, or --host onnx), the spiking branch as "
        "`neuro-av export` wrote it in RUN/export (exported first if missing or stale) on each backend (norse: "
        "float64 reference; lava-float; lava-fixed: bit-accurate Loihi fixed point), post on the host, and writes "
        "DIR/report.json, report.md and report.html (DIR: --out, default RUN/sim; spikes.npz too with --save-spikes; "
        "files of an earlier sim "
        "that this one does not write are removed, and an interrupted sim leaves DIR as it was). With --nir, runs "
        "a foreign NIR graph on an input file instead (backends: reference = the NIR semantics in NumPy, the "
        "reference; lava-float; quant-float; lava-fixed; torch-fixed).",
        epilog="examples:\n  neuro-av sim runs/stft   # all backends, report in runs/stft/sim\n"
        "  neuro-av sim runs/mdft --backend lava-fixed --limit 64 --out /tmp/sim --save-spikes\n"
        "  neuro-av sim runs/stft --workers 2\n"
        "  neuro-av sim runs/stft --lanes 1 --out /tmp/back_to_back   # one clip per Lava window\n"
        "  torchrun --nproc_per_node 4 -m neuro_av sim runs/stft\n"
        "  neuro-av sim --nir lif_norse.nir --input lif.csv --columns 0 --dt 1e-4 --out /tmp/lif\n"
        "  neuro-av sim --module my_net.py:build --input x.npy --backend all --out /tmp/mine   # your Norse network",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run", nargs="?", help="a finished `neuro-av train` run folder (stft or mdft)")
    p.add_argument("--backend", action="append", type=_backend_name, choices=[*BACKEND_NAMES, "all"],
                   help="backend(s) to run (repeatable; default all that apply): norse (the source's own forward "
                   "pass, the reference of a run or a module; always included there), reference (NIR semantics "
                   "in NumPy float64, a NIR file's reference), lava-float, quant-float (rounded weights, float state), "
                   "lava-fixed (Lava, bit-accurate Loihi fixed point), torch-fixed (the same integers in torch)")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"],
                   help="where torch-fixed runs (auto: a CUDA GPU when there is one)")
    p.add_argument("--split", default="test", choices=["test", "val", "train", "train_val"],
                   help="a run's split whose clips are simulated (default test, the one metrics.json scores)")
    p.add_argument("--limit", type=int, help="run this many clips of the split (a fixed-seed sample)")
    p.add_argument("--host", choices=["torch", "onnx"], default="torch", help="where pre and post run")
    p.add_argument("--workers", type=int, default=1, help="shard the clips across this many processes")
    p.add_argument("--lanes", type=int, help="clips per Lava time step (default: as many as memory allows; "
                   "1 runs clips back to back)")
    p.add_argument("--energy-table", action="append", default=[], metavar="JSON",
                   help="deprecated: an energy-only profile in the old format (name, source, synop_pj, "
                   "neuron_update_pj, spike_pj); give --hardware FILE with an 'energy' section instead")
    p.add_argument("--save-spikes", action="store_true", help="also write DIR/spikes.npz (<backend>/<layer>)")
    p.add_argument("--hardware", action="append", default=[], metavar="NAME|FILE", help=HARDWARE_HELP)
    p.add_argument("--nir", help="a foreign NIR graph to run instead of a run folder")
    p.add_argument("--module", metavar="FILE.py:NAME", help="a Norse network to run instead of a run folder "
                   "(its own forward pass is the reference)")
    p.add_argument("--input", help="with --nir / --module: input, .npy [T, N] or [B, T, N] (--nir: or .csv, rows = steps)")
    p.add_argument("--columns", help="with --nir and a .csv input: comma-separated input columns (default all)")
    p.add_argument("--dt", type=float, help="with --nir: the graph's time step in seconds (NIR stores none); with "
                   "--module: overrides the cells' dt")
    p.add_argument("--out", help="report folder (default RUN/sim; needed with --nir and --module); refused when it "
                   "holds files sim did not write")
    p.add_argument("--force", action="store_true", help="write into --out although it holds other files: replaces "
                   "only the files sim writes, keeps the rest")
    p.add_argument("--no-progress", action="store_true", help="no progress bars (the summary still prints)")
    p.set_defaults(handler=run_sim)

    r = sub.add_parser("report", help="re-render report.md and report.html from DIR/report.json",
                       epilog="example: neuro-av report runs/stft/sim")
    r.add_argument("dir", help="a `neuro-av sim` report folder (RUN/sim unless sim had --out)")
    r.set_defaults(handler=run_report)


def _backend_name(name: str) -> str:
    """A --backend value, the old name ``numpy`` read as ``reference``."""
    return {"numpy": "reference"}.get(name, name)


def _out_default(args) -> None:
    """--out defaults to RUN/sim for a run; a NIR graph or a module has no obvious place."""
    if args.out is None:
        if args.nir or args.module:
            raise ConfigError("--nir and --module need --out DIR (only a run folder has a default, RUN/sim)")
        if args.run:
            args.out = str(Path(args.run) / "sim")


def _check_counts(args) -> None:
    for flag, value in (("--limit", args.limit), ("--lanes", args.lanes), ("--workers", args.workers)):
        if value is not None and value < 1:
            raise ConfigError(f"{flag} must be at least 1, got {value}")
    check_dt(args.dt)


def run_sim(args) -> int:
    from neuro_av.lava_compat import guard_lava_processes
    from neuro_av.output import interrupted
    from neuro_av.signals import exit_status

    guard_lava_processes()  # first: SIGTERM is an interrupt from here on
    _out_default(args)
    try:
        return _sim(args)
    except KeyboardInterrupt as exc:  # Ctrl-C or SIGTERM: --out is as it was (neuro_av.sim.folder)
        if _rank() != 0:  # under torchrun, rank 0 says it
            return exit_status(exc)
        return interrupted("sim", Path(args.out), exc)


def _rank() -> int:
    import os

    return int(os.environ.get("RANK", 0))


def _out_folder(args):
    """The folder the simulation writes in: a private one inside --out, published when it ends (a
    torchrun rank other than 0 writes only its shard, into rank 0's folder)."""
    import contextlib

    from neuro_av.sim.folder import sim_folder

    return sim_folder(Path(args.out), args.force) if _rank() == 0 else contextlib.nullcontext(Path(args.out))


def _sim(args) -> int:
    from neuro_av.export.hardware import load_profiles

    _check_counts(args)
    hardware = load_profiles(args.hardware, [Path(t) for t in args.energy_table])
    if args.energy_table:
        print("sim: notice: --energy-table is deprecated; give the table as a profile with an 'energy' section "
              "to --hardware (the files in export/hardware/ show the format)", flush=True)
    chosen = args.backend or ["all"]
    _set_device(args.device)
    if args.module:
        from neuro_av.data.spike_input import load_input
        from neuro_av.export.norse_module import load_user_module, parse
        from neuro_av.sim.foreign import simulate_module

        if not args.input:
            raise ConfigError("--module needs --input X.npy")
        module = load_user_module(args.module)
        x = load_input(Path(args.input), parse(module, args.dt).input_width, owner="module")
        with _out_folder(args) as out:
            paths = simulate_module(module, x, chosen, out, args.dt, args.save_spikes, args.lanes,
                                    source=args.module, hardware=hardware)
    elif args.nir:
        from neuro_av.sim.foreign import simulate_graph

        with _out_folder(args) as out:
            paths = simulate_graph(Path(args.nir), args.input, args.dt, args.columns, chosen, out,
                                   args.save_spikes, args.lanes, hardware)
    else:
        if not args.run:
            raise ConfigError("give a run folder, or --nir GRAPH --input FILE --dt SECONDS")
        from neuro_av.sim.cosim import BACKENDS, SimOptions
        from neuro_av.sim.shards import simulate_run

        # norse, a run's reference, always runs: every other backend is measured against it
        backends = BACKENDS if "all" in chosen else tuple(dict.fromkeys(["norse", *chosen]))
        opts = SimOptions(backends=backends, split=args.split, limit=args.limit, host=args.host, lanes=args.lanes,
                          save_spikes=args.save_spikes, progress=not args.no_progress,
                          hardware=list(hardware))
        with _out_folder(args) as out:
            paths = simulate_run(Path(args.run), opts, out, args.workers, log=lambda m: print(m, flush=True))
        if paths is None:  # a torchrun rank other than 0
            return 0
    paths = {k: Path(args.out) / Path(v).name for k, v in paths.items()}  # where the files were published
    print_summary(json.loads(paths["json"].read_text()), paths)
    return 0


def _set_device(name: str) -> None:
    import torch

    from neuro_av.export.backends import get

    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("--device cuda: torch sees no CUDA GPU here (use --device cpu)")
    get("torch-fixed").device = "cuda" if name == "cuda" or (name == "auto" and torch.cuda.is_available()) else "cpu"


def _print_fidelity(report: dict) -> None:
    """Spike Dice per layer of every non-reference backend (±1-step Dice after the slash), beside the
    reference's firing rate; a table that fits 100 columns for up to four backends."""
    ref = report["reference"]
    rows = {n: b["fidelity"]["layers"] for n, b in report["backends"].items() if n != ref and "fidelity" in b}
    if not rows:
        return
    print(f"  spike Dice vs {ref} per layer (Dice / Dice within ±1 step), beside {ref}'s firing rate:")
    print(f"    {'layer':<14} {'rate':>7}  " + "  ".join(f"{n:>13}" for n in rows))
    for layer in next(iter(rows.values())):
        rate = next(iter(rows.values()))[layer]["rate_ref"]
        cells = "  ".join(f"{r[layer]['dice']:.4f}/{r[layer]['dice_1step']:.4f}" for r in rows.values())
        print(f"    {layer[:14]:<14} {rate:7.2%}  {cells}")
    from neuro_av.export.fidelity import LADDER

    ladder = {n: report["backends"][n]["fidelity_vs_previous"] for n in LADDER
              if (report["backends"].get(n) or {}).get("fidelity_vs_previous")}
    if ladder:
        print("  fidelity ladder: each rung's Dice vs the rung before (quant-float: rounded weights, float state)")
        print(f"    {'layer':<14} " + "  ".join(f"{n + ' vs ' + l['against']:>26}" for n, l in ladder.items()))
        for layer in next(iter(ladder.values()))["layers"]:
            print(f"    {layer[:14]:<14} " + "  ".join(f"{l['layers'][layer]['dice']:>26.4f}" for l in ladder.values()))
    tuned = report.get("finetuned")
    if tuned:
        same = tuned.get("equal_to_metrics_json") or {}
        print("  fine-tuned in fixed point (own forward: torch-fixed); S/U/HM/ZSL as metrics.json's: "
              + (", ".join(f"{n} {'yes' if ok else 'NO'}" for n, ok in same.items()) or "whole test split only"))
    search = (report.get("quantisation") or {}).get("search")
    if search:
        print("\n".join(console.wrap(f"fixed point chosen by spike Dice on the input ({search['candidates']} "
                                     f"candidates): Dice {search['rule_dice']:.4f} by the fixed rule, "
                                     f"{search['chosen_dice']:.4f} chosen", 100, initial_indent="  ",
                                     subsequent_indent="    ")))
    agree = {n: b.get("class_agreement_vs_reference") for n, b in report["backends"].items() if n != ref}
    if any(v is not None for v in agree.values()):
        shown = [f"{n} {v:.2%}" for n, v in agree.items() if v is not None]
        print(f"  predicted class as {ref}'s: " + ", ".join(shown[:3]) + "".join(f",\n    {x}" if i % 3 == 0 else f", {x}"
                                                                             for i, x in enumerate(shown[3:])))
    _print_spread(report)


def _print_spread(report: dict) -> None:
    """The reference's HM interval over clips, each backend's paired ΔHM interval and embedding change."""
    from neuro_av.sim.report_verdicts import names_and

    ref, boot = report["reference"], report.get("bootstrap")
    b = report["backends"]
    if not boot or "interval" not in b.get(ref, {}):
        return
    lo, hi = b[ref]["interval"]["HM"]
    spans: dict[tuple, list[str]] = {}
    for n, x in b.items():
        if "delta_interval_vs_reference" in x:
            spans.setdefault(tuple(x["delta_interval_vs_reference"]["HM"]), []).append(n)
    deltas = [f"0 on every resample for {names_and(names)}" if span == (0.0, 0.0)
              else f"{names_and(names)} [{span[0]:+.2f}, {span[1]:+.2f}]" for span, names in spans.items()]
    changes = [f"{n} {x['embedding_rel_change_vs_reference']:.2%}" for n, x in b.items()
               if n != ref and x.get("embedding_rel_change_vs_reference") is not None]
    text = (f"{boot['level']:.0%} intervals over the {report['clips']:,} clips ({boot['method']}, "
            f"{boot['resamples']:,} resamples, β fixed): {ref} HM {lo:.2f}–{hi:.2f}"
            + (f"; ΔHM vs {ref} (paired): " + "; ".join(deltas) if deltas else ""))
    print("\n".join(console.wrap(text, 100, initial_indent="  ", subsequent_indent="    ")))
    if changes:
        print("\n".join(console.wrap(f"clip embeddings' relative change vs {ref}'s: " + ", ".join(changes), 100,
                                     initial_indent="  ", subsequent_indent="    ")))


def backend_table(report: dict, priced: dict, width: int = 100) -> list[str]:
    """One row per backend: S/U/HM/ZSL (a run), spike agreement, spikes, SynOps (spike events only)
    and graded input events per clip, and µJ per clip at each priced profile; the energy columns
    move to a table of their own when they would not fit ``width``."""
    acc = all("HM" in b for b in report["backends"].values())
    cols = {name: max(9, len(name) + 3) for name in priced}
    head = f"  {'backend':<11} " + (f"{'S':>6} {'U':>6} {'HM':>6} {'ZSL':>6} " if acc else "")
    head += f"{'agree':>8} {'spikes':>9} {'SynOps':>11} {'graded':>11}"
    rows = []
    for name, b in report["backends"].items():
        row = f"  {name:<11} " + (" ".join(f"{b[k]:6.2f}" for k in ("S", "U", "HM", "ZSL")) + " " if acc else "")
        t = b["totals"]
        rows.append(row + f"{b['spike_agreement_vs_reference']:8.2%} {t['spikes']:9,.0f} {t['synops']:11,.0f} "
                    f"{t['graded_synops']:11,.0f}")
    energy_head = "".join(f" {name + ' µJ':>{cols[name]}}" for name in priced)
    energy = [" ".join(f"{b['energy']['neuromorphic'][p]['total'] * 1e6:{cols[p]}.3f}" for p in priced)
              for b in report["backends"].values()]
    if len(head) + len(energy_head) <= width:
        return [head + energy_head, *(r + (" " + e if e else "") for r, e in zip(rows, energy))]
    return [head, *rows, f"  {'backend':<11}" + energy_head,
            *(f"  {name:<11} {e}" for name, e in zip(report["backends"], energy))]


def print_summary(report: dict, paths: dict) -> None:
    ref = report["reference"]
    title = {"run": lambda: f"{report['model']} on {report['split']} ({report['clips']} clips, host {report['host']})",
             "nir": lambda: f"NIR graph {report['graph']} ({report['clips']} clip(s), {report['steps']} steps)",
             "module": lambda: f"Norse module {report['module']} ({report['clips']} clip(s), {report['steps']} steps)",
             }[report["kind"]]()
    from neuro_av.sim.report import energy_caveats, priced_profiles

    print(f"{title}:")
    priced = priced_profiles(report)
    for line in backend_table(report, priced):
        print(line)
    print("\n".join(console.wrap(f"(per clip; agreement: spike bins equal to the reference, {ref}; SynOps: spike "
                                 "events × fan-out (non-zero weights); graded: non-zero graded input values × "
                                 "fan-out)", 100,
                                 initial_indent="  ", subsequent_indent="   ", break_on_hyphens=False)))
    not_priced = next(iter(report["backends"].values()))["energy"].get("not_priced", {})
    energy = ("µJ/clip: the spiking branch at each profile's per-operation energies ("
              + ", ".join(f"{name}: {t}" for name, t in priced.items()) + ")"
              + "".join(f"; not priced: {name} ({n['title']}), no per-operation energies in its profile"
                        for name, n in not_priced.items()))
    print("\n".join(console.wrap(energy, 100, initial_indent="  ", subsequent_indent="    ")))
    _print_fidelity(report)
    for w in report.get("warnings", []):
        print("\n".join(console.wrap(f"warning: {w}", 100, initial_indent="  ", subsequent_indent="    ")))
    for caveat in energy_caveats(report, detail=False):
        print("\n".join(console.wrap(f"note: {caveat}", 100, initial_indent="  ", subsequent_indent="    ")))
    if report.get("deployment"):
        from neuro_av.export.deployment_text import summary

        for line in summary(report["deployment"], width=92):
            print(f"  plan: {line}")
    for name, b in report["backends"].items():
        for layer, r in b.get("readout_vs_reference", {}).items():
            print("\n".join(console.wrap(f"{name:<11} read-out {layer}: largest voltage difference from {ref} "
                                         f"{r['max_abs_diff']:.3g}, arg-max neuron as {ref}'s on "
                                         f"{r['argmax_agreement']:.2%} of steps", 100, initial_indent="  ",
                                         subsequent_indent="    ")))
    print(f"report: {paths['html']}")


def run_report(args) -> int:
    from neuro_av.sim.report import render

    paths = render(Path(args.dir))
    print_summary(json.loads(paths["json"].read_text()), paths)
    return 0
