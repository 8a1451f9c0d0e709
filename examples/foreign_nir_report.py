"""Spike / energy report of a foreign NIR graph: the NIR paper's single LIF neuron.

    .venv/bin/python examples/foreign_nir_report.py [--graph ../shared/data/nir-paper/01_lif/lif_norse.nir]
        [--input ../shared/data/nir-paper/01_lif/lif_lava_cpu_float.csv] [--out runs/lif_report]

Runs ``neuro-av sim --nir GRAPH --input CSV --columns 0 --dt 1e-4`` (the graph was exported from Norse
for the NIR paper, τ = 2.5 ms, θ = 0.1; column 0 of the paper's csv is its input spike train) on the
NumPy reference, Lava float and Lava fixed point. It prints, per backend: 4 spikes, 100 % agreement
with the reference, 34 SynOps (34 input spikes × 1 target) and 81.8 nJ on Loihi 1 (1000 neuron
updates dominate) — and where the HTML report is. The same graph reproduces the paper's published Lava
traces spike for spike (tests/export/test_nir_paper.py).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from neuro_av.cli.main import main as neuro_av

LIF = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "nir-paper" / "01_lif"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--graph", default=str(LIF / "lif_norse.nir"))
    ap.add_argument("--input", default=str(LIF / "lif_lava_cpu_float.csv"))
    ap.add_argument("--out", default="runs/lif_report")
    args = ap.parse_args()
    return neuro_av(["sim", "--nir", args.graph, "--input", args.input, "--columns", "0", "--dt", "1e-4",
                     "--out", args.out])


if __name__ == "__main__":
    sys.exit(main())
