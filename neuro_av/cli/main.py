"""The ``neuro-av`` command: one subcommand per module in ``neuro_av.cli``.

Handlers are thin: parse arguments, build a config, call one library function. Heavy imports
(torch, Lava, ONNX) happen inside the handlers, so ``neuro-av --help`` is instant.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import textwrap

from neuro_av import __version__
from neuro_av.cli import bench, compare, data, doctor, export, finetune, plan, sim, train
from neuro_av.errors import NeuroAVError

SUBCOMMANDS = (doctor, data, train, finetune, bench, export, plan, sim, compare)
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, what `yes | head` reports
HELP_WIDTH = 100  # no console line wider, --help included


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """--help within the terminal and at most HELP_WIDTH columns: descriptions and epilogs keep their
    line breaks (the examples) and each line longer than that is wrapped, continued indented."""

    def __init__(self, prog, indent_increment=2, max_help_position=24, width=None):
        width = min(width or shutil.get_terminal_size().columns - 2, HELP_WIDTH)
        super().__init__(prog, indent_increment, max_help_position, width)

    def _fill_text(self, text, width, indent):
        lines = []
        for line in text.splitlines():
            lead = indent + line[:len(line) - len(line.lstrip())]
            more = "    " if line[:1].isspace() else ""  # an indented example continues further in
            lines += textwrap.wrap(line.strip(), width, initial_indent=lead, subsequent_indent=lead + more,
                                   break_on_hyphens=False) or [""]
        return "\n".join(lines)


def _commands(parser):
    yield parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                yield from _commands(sub)


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
    for command in _commands(parser):
        command.formatter_class = HelpFormatter
    return parser


def _tolerant_streams() -> None:
    """A console that cannot encode →, µ or β (an ASCII locale) gets '?' instead of a traceback."""
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure") and (stream.encoding or "").lower().replace("-", "") != "utf8":
            stream.reconfigure(errors="replace")


def _silence_stdout() -> None:
    """The reader of a pipe left (``| head``): send what is still buffered nowhere."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout is not a real file (a test's capture)
        pass
    finally:
        os.close(devnull)


def main(argv: list[str] | None = None) -> int:
    _tolerant_streams()
    try:
        try:
            args = build_parser().parse_args(argv)  # --help may meet a closed pipe too
        finally:
            sys.stdout.flush()
        args.argv = list(sys.argv[1:] if argv is None else argv)
        return _run(args)
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_BROKEN_PIPE


def _run(args) -> int:
    from neuro_av.signals import exit_status, raise_on_sigterm

    raise_on_sigterm()  # SIGTERM ends every command as Ctrl-C does: its clean-up runs, exit 143
    try:
        status = int(args.handler(args) or 0)
        sys.stdout.flush()  # a closed pipe shows here, not at interpreter exit
        return status
    except NeuroAVError as exc:  # the user's to fix; anything else is a bug and keeps its traceback
        print(f"neuro-av {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # a disk that refuses a write, wherever it happened
        from neuro_av.io import disk_error

        mapped = disk_error(exc.filename or "a file", exc)
        if mapped is None:
            raise
        print(f"neuro-av {args.command}: error: {mapped}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM (Terminated)
        hint = " — completed epochs are kept; run the same command with --resume" if args.command == "train" else ""
        print(f"neuro-av {args.command}: interrupted{hint}", file=sys.stderr)
        return exit_status(exc)


if __name__ == "__main__":
    sys.exit(main())
