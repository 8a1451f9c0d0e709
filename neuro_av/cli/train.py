"""``neuro-av train`` and ``neuro-av evaluate``."""
from __future__ import annotations

import argparse
import json
import sys
from neuro_av import console

FEATURES_HELP = "feature kind: main (SeLaVi, per second) or cls (C3D / VGGish); default main"
LAYOUT_HELP = ("feature files: averaged (AVCA .h5, T = 1), temporal (TCaF .pkl, per step) or auto "
               "(whichever is present, temporal when both are); default auto")


def register(sub) -> None:
    p = sub.add_parser(
        "train", help="train a model through the two-stage AV-GZSL protocol",
        description="Stage 1 trains on stage-1 train and picks the best epoch k (counted from 1) and calibration "
        "β on val; stage 2 retrains on train+val for k epochs and reports S/U/HM/ZSL on test at β*. "
        "Writes RUN/{config.json, checkpoint.pt, metrics.json, train.log}; RUN is refused when it holds files "
        "neuro-av train did not write. Also runs under "
        "`torchrun --nproc_per_node N -m neuro_av train ...` (DistributedDataParallel).",
        epilog="examples:\n  neuro-av train --model avca --data data --dataset SynthAV --out runs/avca\n"
        "  neuro-av train --model mft --data data --dataset SynthAV --out runs/mft --epochs 20 --set lr=5e-4\n"
        "  neuro-av train ... --out runs/avca --resume     # continue an interrupted run\n"
        "  neuro-av train ... --out runs/avca --force      # start it again with the same or other settings",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True, help="model name (avca, mft, stft, mdft)")
    p.add_argument("--data", required=True, help="data root holding <dataset>/")
    p.add_argument("--dataset", default="SynthAV", help="UCF, VGGSound, ActivityNet or a folder with dataset.json "
                   "(default SynthAV)")
    p.add_argument("--features", choices=["main", "cls"], default="main", help=FEATURES_HELP)
    p.add_argument("--layout", choices=["auto", "averaged", "temporal"], default="auto", help=LAYOUT_HELP)
    p.add_argument("--text-alignment", choices=["by_name", "legacy_avca"], default="by_name",
                   help="class text vectors: by_name (each class its own, default) or legacy_avca (the public "
                   "AVCA loader's, which hands many classes another class's vector; only to compare with "
                   "published numbers)")
    p.add_argument("--out", required=True, help="run folder (created; refused when it holds another command's files)")
    p.add_argument("--epochs", type=int, help="stage-1 epochs (default: 50 on the benchmarks, 12 otherwise)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a training or model setting, e.g. --set lr=1e-4 --set dropout_encoder=0.3")
    p.add_argument("--ablation", default="none",
                   help="a named ablation of the model (e.g. mdft: no_mim, no_rjlu, mlp_snn, fixed_threshold; "
                   "stft: rank_1, t_4, no_tucker; mft: no_attention, audio_only); --set overrides it")
    p.add_argument("--resume", action="store_true", help="continue an interrupted run from its last completed "
                   "epoch (same settings); a finished run is reported as finished")
    p.add_argument("--force", action="store_true", help="start again in --out: replaces the files a run writes "
                   "(config, state, checkpoint, metrics, log), keeps anything else")
    p.add_argument("--no-progress", action="store_true", help="no progress bars (the epoch lines still print)")
    p.set_defaults(handler=run_train)

    e = sub.add_parser("evaluate", help="recompute a finished run's test metrics from its checkpoint",
                       description="Rebuild the model from RUN/checkpoint.pt alone and evaluate it on the test split at "
                       "the run's β*.", epilog="example: neuro-av evaluate runs/avca --json")
    e.add_argument("run", help="run folder (written by neuro-av train)")
    e.add_argument("--json", action="store_true", help="print one JSON object instead of a line")
    e.set_defaults(handler=run_evaluate)


def spec_of(args):
    from neuro_av.training.config import RunSpec

    return RunSpec(args.model, args.data, args.dataset, args.features, args.layout, args.text_alignment, args.epochs,
                   tuple(args.set), args.ablation)


def _rank() -> int:
    import os

    return int(os.environ.get("RANK", 0))


def run_train(args) -> int:
    from neuro_av.training.config import build_configs
    from neuro_av.training.engine import train_run
    from neuro_av.training.runfolder import command_line

    data_cfg, model_cfg, train_cfg = build_configs(spec_of(args))
    metrics = train_run(args.out, data_cfg, args.model, model_cfg, train_cfg, resume=args.resume,
                        show_progress=not args.no_progress, force=args.force,
                        command=command_line(getattr(args, "argv", None)))
    if _rank() != 0:  # under torchrun every rank ends with the same figures; one prints them
        return 0
    if metrics.get("already_finished"):
        print(f"neuro-av train: {args.out} is already finished, nothing to resume (its figures below); "
              "`neuro-av evaluate` recomputes them, --force trains it again", file=sys.stderr)
    print(summary_line(args.model, data_cfg.dataset, metrics, f"{args.out}/metrics.json"))
    c = metrics["costs"]
    line = f"{c['parameters']:,} parameters, {c['ann_macs_per_clip'] / 1e6:.1f} M ANN MACs per clip"
    if "snn_synops" in c:
        line += (f", spiking branch: {c['snn_first_layer_macs'] / 1e6:.2f} M first-layer MACs + "
                 f"{c['snn_synops'] / 1e3:.1f} k SynOps (spike events) per clip")
    print(console.fill(line, 100, initial_indent="  ", subsequent_indent="    "))
    return 0


def summary_line(model: str, dataset: str, m: dict, where: str) -> str:
    epochs = f"best epoch {m['best_epoch']} of {m['stage1_epochs']}" if "stage1_epochs" in m else \
        f"best epoch {m['best_epoch']}"
    return (f"{model} on {dataset} (test, stage 2 at β*={m['beta']:.1f}, {epochs}): S {m['S']:.2f}  U {m['U']:.2f}  "
            f"HM {m['HM']:.2f}  ZSL {m['ZSL']:.2f}\n  → {where}")


def run_evaluate(args) -> int:
    from neuro_av.training.engine import evaluate_run

    r = evaluate_run(args.run)
    if args.json:
        print(json.dumps(r, indent=2))
    else:
        print(f"{r['model']} on {r['dataset']} (test, {r['clips']} clips, β*={r['beta']:.1f}, best epoch "
              f"{r['best_epoch']}): S {r['S']:.2f}  U {r['U']:.2f}  HM {r['HM']:.2f}  ZSL {r['ZSL']:.2f}")
    return 0
