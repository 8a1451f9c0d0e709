"""``neuro-av finetune``: fine-tune a trained run with its spiking branch in Loihi's exact fixed point."""
from __future__ import annotations

import argparse
from neuro_av import console


def register(sub) -> None:
    p = sub.add_parser(
        "finetune", help="fine-tune a trained run through the exact fixed-point arithmetic of the chip",
        description="Fine-tunes RUN's model with its spiking branch in Loihi's fixed point (the integers `neuro-av "
        "export` writes, bit-exact with torch-fixed and lava-fixed; straight-through gradients for the roundings, a "
        "surrogate at the threshold); pre and post stay float. Same protocol as train: stage 1 reproduces RUN's "
        "stage-1 model, fine-tunes it on train and picks the epoch and β* on val; stage 2 fine-tunes RUN's final "
        "model on train+val for that many epochs and scores test. OUT is a run folder that evaluate, export, sim, "
        "plan and report accept; its export holds the integers it was trained with.",
        epilog="example:\n  neuro-av finetune runs/stft --out runs/stft-q --epochs 3\n"
        "  neuro-av sim runs/stft-q --backend all --out runs/stft-q/sim",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run", help="a finished `neuro-av train` run of a model with a spiking branch (stft, mdft)")
    p.add_argument("--out", required=True, help="run folder to write (refused when it holds another command's files)")
    p.add_argument("--hardware", default=None, metavar="loihi2|FILE",
                   help="chip profile whose limits the fine-tuned network must keep (default loihi2); its weight, "
                   "state and threshold bits must be at least Lava fixed_pt's 8, 24 and 17")
    p.add_argument("--epochs", type=int, help="stage-1 fine-tuning epochs (default 3)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="a fine-tuning setting (lr, clamp_weights) or a training one (batch_size, batches_per_epoch, "
                   "seed, device ...), e.g. --set lr=3e-4")
    p.add_argument("--force", action="store_true", help="fine-tune again into an OUT that holds a fine-tuning")
    p.add_argument("--no-progress", action="store_true", help="no progress bars (the epoch lines still print)")
    p.set_defaults(handler=run_finetune)


def run_finetune(args) -> int:
    from neuro_av.cli.train import summary_line
    from neuro_av.finetune import config_from, finetune_run, parse_sets
    from neuro_av.training.runfolder import command_line

    ft_sets, train_sets = parse_sets(args.set)
    ft = config_from(args.epochs, args.hardware, ft_sets)
    m = finetune_run(args.run, args.out, ft, train_sets, force=args.force, show_progress=not args.no_progress,
                     command=command_line(getattr(args, "argv", None)))
    print(summary_line(m["model"], m["dataset"], m, f"{args.out}/metrics.json"))
    src, before = m["finetune"]["source_float_test"], m["finetune"]["source_fixed_point_test"]
    print(console.fill(f"{args.run} on test: float HM {src['HM']:.2f} ZSL {src['ZSL']:.2f}; deployed in fixed "
                        f"point without fine-tuning HM {before['HM']:.2f} ZSL {before['ZSL']:.2f}; fine-tuned (this "
                        f"run, in fixed point) HM {m['HM']:.2f} ZSL {m['ZSL']:.2f} ({m['train_seconds']:.0f} s)",
                        100, initial_indent="  ", subsequent_indent="    "))
    return 0
