"""Tiny trained STFT / MDFT runs on a small embedded benchmark, for the export and sim tests.

Real two-stage training (a few batches), small widths so a run takes seconds on 2 cores.
"""
from __future__ import annotations

from pathlib import Path

from helpers import tiny_synthetic
from neuro_av.cli.main import main

TINY = {"stft": ["--set", "snn_widths=24,16", "--set", "token_dim=32", "--set", "heads=2", "--set", "dim_head=16",
                 "--set", "tucker_scales=8", "--set", "tucker_rank=2", "--set", "slots=4"],
        "mdft": ["--set", "hidden=64", "--set", "snn_widths=16,16,16", "--set", "heads=2", "--set", "dim_head=32",
                 "--set", "mlp_dim=64", "--set", "rjlu_chunks=4", "--set", "rjlu_heads=2", "--set", "egm_source=encoded"]}
SHORT = ["--epochs", "2", "--set", "batches_per_epoch=3", "--set", "batch_size=32", "--no-progress"]


def make_data(root: Path) -> Path:
    return tiny_synthetic(root)


def train_tiny(data: Path, out: Path, model: str) -> Path:
    assert main(["train", "--model", model, "--data", str(data), "--out", str(out), *SHORT, *TINY[model]]) == 0
    return out
