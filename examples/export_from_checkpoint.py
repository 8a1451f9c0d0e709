"""Export-only from a trained run, through the library API (what ``neuro-av export`` calls).

    .venv/bin/python examples/export_from_checkpoint.py [RUN] [--targets nir onnx] [--out DIR]

RUN defaults to ``demo/runs/stft`` (``make demo`` trains it). Loads ``RUN/checkpoint.pt`` alone (weights
only), writes the chosen artefacts to DIR (default ``RUN/export_example``) and prints each file with
its kind and the measured fidelity. On the demo STFT run with ``--targets nir lava onnx`` it prints
snn.nir, lava_fixed.npz, pre.onnx and post.onnx, Lava float spike agreement 1.0, Lava fixed about
0.999, and ONNX max abs differences of about 1e-6.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from neuro_av.export.deploy import TARGETS, export_run

from neuro_av.run import load_run


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run", nargs="?", default="demo/runs/stft")
    ap.add_argument("--targets", nargs="+", default=["nir", "lava", "onnx"], choices=TARGETS)
    ap.add_argument("--out", help="output folder (default RUN/export_example)")
    args = ap.parse_args()
    run = load_run(Path(args.run))
    out = Path(args.out) if args.out else run.run_dir / "export_example"
    manifest = export_run(run, tuple(args.targets), out)
    for f in manifest["files"]:
        print(f"{f['kind']:<18} {out / f['path']}")
    print(json.dumps(manifest["fidelity"], indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
