"""``neuro-av compare A B ...``: runs and sim reports side by side (:mod:`neuro_av.compare`)."""
from __future__ import annotations

import argparse
import textwrap
from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser(
        "compare", help="runs and sim reports side by side: accuracy, fidelity, energy, plan",
        description=textwrap.fill("Prints runs (`neuro-av train` folders with metrics.json) and sim reports (`neuro-av sim` "
        "folders with report.json) side by side: S/U/HM/ZSL per backend, per-layer spike Dice and firing rates, "
        "energy per clip and the deployment plan's verdicts. Inputs whose configurations differ only in the "
        "training seed share a column (mean ± standard deviation). With --out DIR also writes DIR/compare.md "
        "and DIR/compare.html.", 100),
        epilog="examples:\n  neuro-av compare runs/stft runs/stft_seed1 runs/mdft\n"
        "  neuro-av compare runs/stft/sim runs/mdft/sim --out comparisons/stft_vs_mdft",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("inputs", nargs="+", metavar="FOLDER",
                   help="a run folder (metrics.json) or a sim report folder (report.json); a path to either file "
                        "names its folder")
    p.add_argument("--out", metavar="DIR", help="also write DIR/compare.md and DIR/compare.html (made if missing)")
    p.add_argument("--separate", action="store_true",
                   help="one column per input: do not pool inputs that differ only in their seed")
    p.add_argument("--width", type=int, default=100, help="console table width in characters (default: 100)")
    p.set_defaults(handler=run_compare)


def run_compare(args) -> int:
    from neuro_av.compare import console, load, write
    from neuro_av.errors import ConfigError

    if args.width < 40:
        raise ConfigError(f"--width must be at least 40, got {args.width}")
    columns = load([Path(p) for p in args.inputs], pool_seeds=not args.separate)
    for line in console(columns, args.width):
        print(line)
    if args.out:
        paths = write(columns, Path(args.out))
        print(f"wrote compare.md and compare.html in {paths['md'].parent}")
    return 0
