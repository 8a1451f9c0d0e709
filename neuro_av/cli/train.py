"""``neuro-av train`` and ``neuro-av evaluate``."""
from __future__ import annotations

import argparse
import json


def register(sub) -> None:
    p = sub.add_parser(
        "train", help="train a model through the two-stage AV-GZSL protocol",
        description="Stage 1 trains on stage-1 train and picks the best epoch and calibration β on val; "
        "stage 2 retrains on train+val for best_epoch+1 epochs and reports S/U/HM/ZSL on test at β*. "
        "Writes RUN/{config.json, checkpoint.pt, metrics.json, train.log}. Also runs under "
        "`torchrun --nproc_per_node N -m neuro_av train ...` (DistributedDataParallel).",
        epilog="examples:\n  neuro-av train --model avca --data data --dataset SynthAV --out runs/avca\n"
        "  neuro-av train --model mft --data data --dataset SynthAV --out runs/mft --epochs 20 --set lr=5e-4\n"
        "  neuro-av train ... --out runs/avca --resume     # continue an interrupted run",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True, help="model name (avca, mft, ...)")
    p.add_argument("--data", required=True, help="data root holding <dataset>/")
    p.add_argument("--dataset", default="SynthAV", help="UCF, VGGSound, ActivityNet or a folder with dataset.json")
    p.add_argument("--features", choices=["main", "cls"], default="main")
    p.add_argument("--layout", choices=["auto", "averaged", "temporal"], default="auto")
    p.add_argument("--text-alignment", choices=["by_name", "legacy_avca"], default="by_name")
    p.add_argument("--out", required=True, help="run directory")
    p.add_argument("--epochs", type=int, help="stage-1 epochs (default: 50 on the benchmarks, 12 otherwise)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a training or model setting, e.g. --set lr=1e-4 --set dropout_encoder=0.3")
    p.add_argument("--ablation", default="none",
                   help="a named ablation of the model (e.g. mdft: no_mim, no_rjlu, mlp_snn, fixed_threshold; "
                   "stft: rank_1, t_4, no_tucker; mft: no_attention, audio_only); --set overrides it")
    p.add_argument("--resume", action="store_true", help="continue an interrupted run from its last epoch")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(handler=run_train)

    e = sub.add_parser("evaluate", help="recompute a finished run's test metrics from its checkpoint",
                       description="Rebuild the model from RUN/checkpoint.pt alone and evaluate it on the test split at "
                       "the run's β*.", epilog="example: neuro-av evaluate runs/avca")
    e.add_argument("run", help="run directory")
    e.set_defaults(handler=run_evaluate)


def spec_of(args):
    from neuro_av.training.config import RunSpec

    return RunSpec(args.model, args.data, args.dataset, args.features, args.layout, args.text_alignment, args.epochs,
                   tuple(args.set), args.ablation)


def run_train(args) -> int:
    from neuro_av.training.config import build_configs
    from neuro_av.training.engine import train_run

    data_cfg, model_cfg, train_cfg = build_configs(spec_of(args))
    metrics = train_run(args.out, data_cfg, args.model, model_cfg, train_cfg, resume=args.resume,
                        show_progress=not args.no_progress)
    print(f"{args.model} on {data_cfg.dataset} (test, stage 2 at β*={metrics['beta']:.1f}, best epoch "
          f"{metrics['best_epoch'] + 1}): S {metrics['S']:.2f}  U {metrics['U']:.2f}  HM {metrics['HM']:.2f}  "
          f"ZSL {metrics['ZSL']:.2f}   → {args.out}/metrics.json")
    c = metrics["costs"]
    line = f"  {c['parameters']:,} parameters, {c['ann_macs_per_clip'] / 1e6:.1f} M ANN MACs per clip"
    if "snn_synops" in c:
        line += (f", spiking branch: {c['snn_first_layer_macs'] / 1e6:.2f} M first-layer MACs + "
                 f"{c['snn_synops'] / 1e3:.1f} k SynOps per clip")
    print(line)
    return 0


def run_evaluate(args) -> int:
    from neuro_av.training.engine import evaluate_run

    print(json.dumps(evaluate_run(args.run), indent=2))
    return 0
