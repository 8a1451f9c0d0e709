"""``neuro-av export``: the spiking branch to NIR / Lava / netx, ``pre`` and ``post`` to ONNX."""
from __future__ import annotations

import argparse
import json
import sys
from neuro_av import console
from pathlib import Path

from neuro_av.data.spike_input import check_dt
from neuro_av.errors import ConfigError
from neuro_av.cli.plan import HARDWARE_HELP


def register(sub) -> None:
    p = sub.add_parser(
        "export", help="export a trained run: NIR, Lava (float + fixed point), netx, ONNX",
        description="Writes RUN/export/ (or --out): snn.nir (the spiking branch, neuro-av's own Norse → NIR "
        "mapping) and snn.<chain>.nir (each chain alone), lava_fixed.npz (the quantised fixed-point network), "
        "<chain>.net (lava-dl netx, static thresholds), pre.onnx / post.onnx, and manifest.json with the measured "
        "fidelity: Norse vs Lava float and fixed spike agreement, netx vs its static-threshold float model, ONNX "
        "max abs difference, and every value clipped, wrapped or saturated in fixed point. The folder is "
        "export's own: one that holds other files is refused (--force to write there), and an interrupted "
        "export leaves it as it was.",
        epilog="examples:\n  neuro-av export runs/stft --target all\n  neuro-av export runs/mdft --target nir\n"
        "  neuro-av export runs/stft --target lava --target onnx --check-clips 32\n"
        "  neuro-av export runs/stft --json > fidelity.json   # the measured fidelity as JSON\n"
        "  neuro-av export --module my_net.py:build --input x.npy --target all --out my_export   # your Norse network",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run", nargs="?", help="a finished `neuro-av train` run folder (stft or mdft)")
    p.add_argument("--module", metavar="FILE.py:NAME", help="a Norse network instead of a run: NAME in FILE.py is a "
                   "torch.nn.Module or a function returning one (loading its own weights)")
    p.add_argument("--input", help="with --module: input .npy, [T, N] or [B, T, N] (checks and calibrates)")
    p.add_argument("--dt", type=float, help="with --module: time step in seconds (default: the cells' dt)")
    p.add_argument("--target", action="append", choices=["nir", "lava", "netx", "onnx", "all"],
                   help="what to export (repeatable; default all)")
    p.add_argument("--out", help="output folder (default RUN/export); refused when it holds files export did not "
                   "write")
    p.add_argument("--force", action="store_true", help="write into --out although it holds other files: replaces "
                   "only the files an export writes, keeps the rest")
    p.add_argument("--check-clips", type=int, default=16, help="test clips the fidelity is measured on (default 16)")
    p.add_argument("--hardware", action="append", default=[], metavar="NAME|FILE", help=HARDWARE_HELP)
    p.add_argument("--json", action="store_true", help="print the measured fidelity as one JSON object instead of "
                   "summary lines (the progress lines go to stderr)")
    p.set_defaults(handler=run_export)


def run_export(args) -> int:
    from neuro_av.lava_compat import guard_lava_processes
    from neuro_av.output import interrupted

    guard_lava_processes()  # first: SIGTERM is an interrupt from here on
    out = Path(args.out) if args.out else (Path(args.run) / "export" if args.run else None)
    try:
        return _export(args)
    except KeyboardInterrupt as exc:  # Ctrl-C or SIGTERM: the folder is as it was (neuro_av.output)
        return interrupted("export", out, exc)


def _export(args) -> int:
    from neuro_av.export.deploy import TARGETS, export_run
    from neuro_av.run import load_run

    if args.check_clips < 1:
        raise ConfigError(f"--check-clips must be at least 1, got {args.check_clips}")
    from neuro_av.cli.plan import load_hardware

    hardware = load_hardware(args.hardware)
    if args.module:
        return _export_module(args, hardware)
    if not args.run:
        raise ConfigError("give a run folder, or --module FILE.py:NAME --input X.npy --out DIR")
    targets = args.target or ["all"]
    targets = tuple(TARGETS) if "all" in targets else tuple(dict.fromkeys(targets))
    run = load_run(Path(args.run))
    out = Path(args.out) if args.out else run.export_dir
    manifest = export_run(run, targets, out, args.check_clips, log=_log(args), hardware=hardware, force=args.force)
    _print_result(args, manifest, out)
    return 0


def _log(args):
    """Progress lines: on stdout, or on stderr when stdout carries --json's object."""
    stream = sys.stderr if args.json else sys.stdout
    return lambda m: print(m, file=stream, flush=True)


def _print_result(args, manifest: dict, out: Path) -> None:
    if args.json:
        print(json.dumps(manifest["fidelity"], indent=1, ensure_ascii=False))
        return
    print(f"wrote {len(manifest['files'])} files and {out / 'manifest.json'}")
    for line in fidelity_lines(manifest["fidelity"]):
        print(line)


def fidelity_lines(fid: dict) -> list[str]:
    """The manifest's fidelity as console lines within 100 columns: spike Dice per layer of each
    backend against the reference, the fixed-point checks, netx and ONNX."""
    clips = fid.get("check_clips", fid.get("clips"))
    where = f"{clips} {fid['split']} clip(s)" if "split" in fid else f"{clips} input clip(s)"
    lines = [f"fidelity on {where} against {fid['reference']}:"]
    dice = fid.get("spike_dice") or {}
    if dice:
        lines.append("  spike Dice per layer (Dice / Dice within ±1 step), beside the reference's firing rate:")
        lines.append(f"    {'layer':<14} {'rate':>7}  " + "  ".join(f"{n:>13}" for n in dice))
        for layer, rate in fid["reference_rates"].items():
            cells = "  ".join(f"{d['layers'][layer]['dice']:.4f}/{d['layers'][layer]['dice_1step']:.4f}"
                              if layer in d["layers"] else f"{'-':>13}" for d in dice.values())
            lines.append(f"    {layer[:14]:<14} {rate:7.2%}  {cells}")
    if "torch_fixed_equals_lava_fixed" in fid:
        same = "yes" if fid["torch_fixed_equals_lava_fixed"] else "NO"
        lines.append(f"  torch-fixed equals lava-fixed spike for spike: {same}")
    if "lava_fixed_embedding_rel_change" in fid:
        lines.append(f"  embeddings with the lava-fixed branch: {fid['lava_fixed_embedding_rel_change']:.2%} "
                     "relative change (largest over the embeddings)")
    for name in ("lava_float_readout", "lava_fixed_readout"):
        for layer, r in (fid.get(name) or {}).items():
            lines.append(f"  {name.split('_readout')[0].replace('_', '-')} read-out {layer}: largest voltage "
                         f"difference {r['max_abs_diff']:.3g}, arg-max neuron as the reference's on "
                         f"{r['argmax_agreement']:.2%} of steps")
    netx = fid.get("netx")
    if netx:
        chains = []
        for chain, c in netx["chains"].items():
            chains.append(f"{chain} {c['agreement']:.2%}" if c.get("written") else
                          f"{chain} not written ({c.get('reason', 'no reason recorded')})")
        overall = f"{netx['agreement']:.2%}, " if netx.get("agreement") is not None else ""
        lines += console.wrap(f"netx (static thresholds) vs the float model with θ_0: spike agreement {overall}"
                               + ", ".join(chains), 100, initial_indent="  ", subsequent_indent="    ")
    onnx = fid.get("onnx_max_abs_diff")
    if onnx:
        lines.append("  ONNX vs torch, largest absolute difference: "
                     + ", ".join(f"{part} {d:.2g}" for part, d in onnx.items()))
    return lines


def _export_module(args, hardware: tuple) -> int:
    from neuro_av.data.spike_input import load_input
    from neuro_av.export.module_export import TARGETS, export_module
    from neuro_av.export.norse_module import load_user_module, parse

    if not args.input or not args.out:
        raise ConfigError("--module needs --input X.npy and --out DIR")
    check_dt(args.dt)
    module = load_user_module(args.module)
    x = load_input(Path(args.input), parse(module, args.dt).input_width, owner="module")
    chosen = args.target or ["all"]
    targets = TARGETS if "all" in chosen else tuple(dict.fromkeys(chosen))
    manifest = export_module(module, x, Path(args.out), targets, args.dt, args.module, log=_log(args),
                             hardware=hardware, force=args.force)
    for d in manifest["deviations"]:
        _log(args)(f"deviation: {d}")
    _print_result(args, manifest, Path(args.out))
    return 0
