"""``neuro-av bench``: models over several seeds, as mean ± std, with the machine they ran on."""
from __future__ import annotations

import argparse

from neuro_av.cli.train import FEATURES_HELP


def register(sub) -> None:
    p = sub.add_parser(
        "bench", help="train models over several seeds and report S/U/HM/ZSL as mean ± std",
        description="Trains every model (or MODEL:ABLATION variant) over seeds 0..N-1 through the two-stage protocol "
        "(a finished run is reused, an interrupted one resumed) and writes OUT/bench.json and OUT/bench.md: "
        "S / U / HM / ZSL as mean ± standard deviation, the per-seed values, the CPU, thread count and library "
        "versions, and which HM differences against the first variant exceed the seed spread.",
        epilog="examples:\n  neuro-av bench --models avca,mft,stft,mdft --seeds 3 --data demo/data --out runs/bench\n"
        "  neuro-av bench --models stft,stft:fixed_threshold --seeds 5 --data demo/data --epochs 6 --out runs/abl",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", required=True, help="comma-separated models or model:ablation variants")
    p.add_argument("--seeds", type=int, default=3, help="seeds 0..N-1 (default 3)")
    p.add_argument("--data", required=True, help="data root holding <dataset>/")
    p.add_argument("--dataset", default="SynthAV", help="UCF, VGGSound, ActivityNet or a folder with dataset.json "
                   "(default SynthAV)")
    p.add_argument("--features", choices=["main", "cls"], default="main", help=FEATURES_HELP)
    p.add_argument("--epochs", type=int, help="stage-1 epochs (default: the model's)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="a setting for every run")
    p.add_argument("--out", required=True, help="bench folder (runs go to OUT/<variant>/seed<k>)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars (the per-run lines still print)")
    p.add_argument("--progress", action="store_true", help=argparse.SUPPRESS)  # the old spelling; bars are the default now
    p.set_defaults(handler=run_bench)


def run_bench(args) -> int:
    from neuro_av.training.bench import Variant, bench
    from neuro_av.training.config import RunSpec
    from neuro_av.training.runfolder import command_line

    variants = [Variant(*(part.strip() for part in v.strip().split(":", 1))) for v in args.models.split(",") if v.strip()]
    base = RunSpec(model="", data=args.data, dataset=args.dataset, features=args.features, epochs=args.epochs,
                   sets=tuple(args.set))
    pairs = [(v.label, variants[0].label) for v in variants[1:]]
    report = bench(variants, args.seeds, base, args.out, pairs, log=lambda m: print(m, flush=True),
                   show_progress=not args.no_progress, command=command_line(getattr(args, "argv", None)))
    from neuro_av.training.bench import markdown

    print(markdown(report), end="")
    return 0
