"""A model's ablation table over several seeds: mean ± std, and which differences exceed the spread.

    .venv/bin/python examples/ablation_table.py --model stft [--seeds 3] [--epochs 6 --batches 8]
        [--only fixed_threshold no_tucker] [--data runs/data] [--out runs/ablations/stft]

Trains the full model and every named ablation (``MODEL:ABLATION`` variants of ``neuro-av bench``)
through both stages on the embedded benchmark (written first if missing), seeds 0..N-1 each, and
writes ``<out>/bench.md`` and ``<out>/bench.json``: S / U / HM / ZSL as mean ± standard deviation
per variant, and for each variant whether its HM differs from the full model's by more than the two
seed spreads together (|Δ mean| > σ₁ + σ₂, a rule of thumb, not a significance test). A single run
per variant says little on a benchmark this small: seeds alone move HM by several points.

Finished runs are reused, so the command can be stopped and started again. The figures are whatever
the runs give; nothing is tuned to match a paper.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from neuro_av.cli.main import main as neuro_av
from neuro_av.models.registry import ABLATIONS


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="stft", choices=sorted(ABLATIONS))
    ap.add_argument("--seeds", type=int, default=3, help="seeds per variant (default 3)")
    ap.add_argument("--data", default="runs/data", help="data root (the embedded benchmark is written there if missing)")
    ap.add_argument("--out", help="bench folder (default runs/ablations/<model>)")
    ap.add_argument("--epochs", type=int, default=6, help="stage-1 epochs per run (default 6)")
    ap.add_argument("--batches", type=int, default=8, help="batches per epoch (default 8)")
    ap.add_argument("--only", nargs="*", help="a subset of ablation names (the full model is always included)")
    args = ap.parse_args()

    data = Path(args.data)
    if not (data / "SynthAV" / "dataset.json").is_file():
        neuro_av(["data", "synth", "--out", str(data)])
    known = [a for a in ABLATIONS[args.model] if a != "none"]
    unknown = sorted(set(args.only or ()) - set(known))
    if unknown:
        print(f"unknown ablation(s) of {args.model}: {', '.join(unknown)}; known: {', '.join(known)}", file=sys.stderr)
        return 2
    variants = [args.model, *(f"{args.model}:{a}" for a in (args.only or known))]
    return neuro_av(["bench", "--models", ",".join(variants), "--seeds", str(args.seeds), "--data", str(data),
                     "--epochs", str(args.epochs), "--set", f"batches_per_epoch={args.batches}",
                     "--out", args.out or f"runs/ablations/{args.model}"])


if __name__ == "__main__":
    sys.exit(main())
