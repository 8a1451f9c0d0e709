"""The ``neuro-av`` command: one subcommand per module in ``neuro_av.cli``.

Handlers are thin: parse arguments, build a config, call one library function. Heavy imports
(torch, Lava, ONNX) happen inside the handlers, so ``neuro-av --help`` is instant.
"""
from __future__ import annotations

import argparse
import sys

from neuro_av import __version__
from neuro_av.cli import bench, data, doctor, export, plan, sim, train
from neuro_av.errors import NeuroAVError

SUBCOMMANDS = (doctor, data, train, bench, export, plan, sim)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="neuro-av",
        description="Spiking audio-visual zero-shot learning: train with Norse, deploy the spiking "
        "branch through NIR to Lava, co-simulate and report accuracy, spikes and energy.",
    )
    parser.add_argument("--version", action="version", version=f"neuro-av {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in SUBCOMMANDS:
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except NeuroAVError as exc:  # the user's to fix; anything else is a bug and keeps its traceback
        print(f"neuro-av {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        hint = " — completed epochs are kept; run the same command with --resume" if args.command == "train" else ""
        print(f"neuro-av {args.command}: interrupted{hint}", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
