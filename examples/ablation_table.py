"""Run a model's ablation table on the embedded benchmark and write it as Markdown.

    .venv/bin/python examples/ablation_table.py --model mdft [--epochs 6 --batches 8] [--out runs/ablations]

Trains every named ablation of the model (``neuro-av train --model M --ablation NAME``) through both
stages on the embedded benchmark (written first if missing) and writes ``<out>/<model>_ablations.md``
with S / U / HM / ZSL (test, stage 2 at β*) per variant, plus the JSON beside it. It prints the table
when done; the figures are whatever the runs give — nothing is tuned to match a paper.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from neuro_av.cli.main import main as neuro_av
from neuro_av.models.registry import ABLATIONS


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="mdft", choices=sorted(ABLATIONS))
    ap.add_argument("--data", default="runs/data", help="data root (the embedded benchmark is written there if missing)")
    ap.add_argument("--out", default="runs/ablations")
    ap.add_argument("--epochs", type=int, default=6, help="stage-1 epochs per variant (default 6)")
    ap.add_argument("--batches", type=int, default=8, help="batches per epoch (default 8)")
    ap.add_argument("--only", nargs="*", help="a subset of ablation names")
    args = ap.parse_args()

    data, out = Path(args.data), Path(args.out)
    if not (data / "SynthAV" / "dataset.json").is_file():
        neuro_av(["data", "synth", "--out", str(data)])
    names = args.only or list(ABLATIONS[args.model])
    rows = []
    for name in names:
        run = out / f"{args.model}_{name}"
        if not (run / "metrics.json").is_file():
            t0 = time.monotonic()
            status = neuro_av(["train", "--model", args.model, "--ablation", name, "--data", str(data), "--out", str(run),
                               "--epochs", str(args.epochs), "--set", f"batches_per_epoch={args.batches}", "--no-progress"])
            if status != 0:
                print(f"{name}: training failed (status {status})", file=sys.stderr)
                continue
            print(f"{name}: {time.monotonic() - t0:.0f} s", file=sys.stderr)
        m = json.loads((run / "metrics.json").read_text())
        rows.append({"ablation": name, **{k: m[k] for k in ("S", "U", "HM", "ZSL", "beta", "best_epoch")}})
    lines = [f"| {args.model} variant | S | U | HM | ZSL |", "|---|---:|---:|---:|---:|"]
    lines += [f"| {r['ablation']} | {r['S']:.2f} | {r['U']:.2f} | {r['HM']:.2f} | {r['ZSL']:.2f} |" for r in rows]
    table = "\n".join(lines)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{args.model}_ablations.md").write_text(
        f"Embedded benchmark (SynthAV), test split, stage 2 at β*; {args.epochs} stage-1 epochs × "
        f"{args.batches} batches per variant.\n\n{table}\n")
    (out / f"{args.model}_ablations.json").write_text(json.dumps(rows, indent=2) + "\n")
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
