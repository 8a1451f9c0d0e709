"""``neuro-av data synth | inspect``: the embedded benchmark and a check of any dataset folder."""
from __future__ import annotations

import argparse
import json
from neuro_av import console

from neuro_av.cli.train import FEATURES_HELP, LAYOUT_HELP


def register(sub) -> None:
    p = sub.add_parser("data", help="write the embedded benchmark, inspect a dataset folder")
    dsub = p.add_subparsers(dest="data_command", metavar="ACTION", required=True)

    s = dsub.add_parser(
        "synth", help="write the embedded synthetic benchmark (UCF-GZSL structure, both layouts)",
        description="Write DIR/<name>/ in the AV-GZSL layout: class splits, text embeddings, averaged "
        "(.h5) and temporal (.pkl) features. Read it back with --data DIR --dataset <name>.",
        epilog="example: neuro-av data synth --out data && neuro-av data inspect --data data --dataset SynthAV",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    s.add_argument("--out", required=True, help="folder to write <name>/ into")
    s.add_argument("--name", default="SynthAV", help="dataset name (default SynthAV)")
    s.add_argument("--steps", type=int, default=8, help="T, feature steps per clip (default 8)")
    s.add_argument("--clips-per-class", type=int, default=24, help="clips per class in its main folder (default 24)")
    s.add_argument("--held-out-per-class", type=int, default=6, help="seen-class clips for val-seen and test-seen (default 6)")
    s.add_argument("--seed", type=int, default=0, help="seed of every random draw (class maps, clips, noise); "
                   "default 0, the same seed writes the same files")
    s.add_argument("--text-encoder", choices=["auto", "sentence", "hashed"], default="auto",
                   help="class-name embeddings: MiniLM sentence encoder if installed (auto), or a hashed bag of words")
    s.add_argument("--force", action="store_true", help="replace an existing dataset folder")
    s.set_defaults(handler=run_synth)

    i = dsub.add_parser(
        "inspect", help="list splits, clips, dims and every problem of a dataset folder",
        description="Read every class file of a dataset once and report per split the number of classes, "
        "clips, feature dims and time steps, every problem found (the data cannot be used as it is) and every "
        "notice (a quirk neuro-av handles). Exit status 1 if problems were found; notices alone exit 0.",
        epilog="example: neuro-av data inspect --data ~/avgzsl_benchmark_datasets --dataset UCF --features main --json",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    i.add_argument("--data", help="data root: the folder that holds <dataset>/class-split and <dataset>/features "
                   "(as `train --data`)")
    i.add_argument("--root", dest="root_alias", help=argparse.SUPPRESS)  # the old spelling of --data
    i.add_argument("--dataset", required=True, help="UCF, VGGSound, ActivityNet, or a folder with dataset.json")
    i.add_argument("--features", choices=["main", "cls"], default="main", help=FEATURES_HELP)
    i.add_argument("--layout", choices=["auto", "averaged", "temporal"], default="auto", help=LAYOUT_HELP)
    i.add_argument("--json", action="store_true", help="print one JSON object")
    i.set_defaults(handler=run_inspect, parser=i)


def run_synth(args) -> int:
    from tqdm import tqdm

    from neuro_av.data.synth import SynthConfig, write_synthetic
    from neuro_av.io import check_output_folder

    check_output_folder(args.out)

    cfg = SynthConfig(name=args.name, steps=args.steps, clips_per_class=args.clips_per_class,
                      held_out_per_class=args.held_out_per_class, seed=args.seed, text_encoder=args.text_encoder)
    bar = tqdm(total=None, desc="writing class files", unit="file")

    def progress(done, total):
        bar.total = total
        bar.update(done - bar.n)

    try:
        path = write_synthetic(args.out, cfg, overwrite=args.force, progress=progress)
    finally:
        bar.close()
    meta = json.loads((path / "dataset.json").read_text())
    print(f"wrote {path}: {meta['classes']} classes, {meta['clips']} clips, T={cfg.steps}, "
          f"text encoder {meta['text_encoder']}")
    print(f"read it with: --data {args.out} --dataset {cfg.name}")
    return 0


def run_inspect(args) -> int:
    from neuro_av.data.inspect import inspect_dataset

    if args.data and args.root_alias and args.data != args.root_alias:
        args.parser.error("--root is the old spelling of --data: pass one of them")
    root = args.data or args.root_alias
    if not root:
        args.parser.error("the following arguments are required: --data")
    report = inspect_dataset(root, args.dataset, args.features, args.layout)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(f"{report['dataset']} ({report['features']} features, layout {report['layout']}) under {report['root']}")
        for stem, e in report["splits"].items():
            steps = e.get("steps")
            t = f"T {steps['min']}..{steps['max']} (mean {steps['mean']:.1f})" if steps else "T -"
            print(f"  {stem:<20} {e['classes']:>4} classes {e['clips']:>7} clips  audio {e.get('audio_dim', '-')} "
                  f"video {e.get('video_dim', '-')}  {t}")
        if report["text"]:
            tx = report["text"]
            print(f"  text: {tx['vectors']} vectors of dim {tx['dim']}; legacy_avca alignment gives "
                  f"{tx['legacy_avca_differs']} classes another class's vector")
        for note in report["notices"]:
            print(console.fill(f"notice (handled): {note}", 100, initial_indent="  ", subsequent_indent="    "))
        print(f"problems ({len(report['problems'])}):" if report["problems"] else "no problems found")
        for prob in report["problems"]:
            print(console.fill(f"- {prob}", 100, initial_indent="  ", subsequent_indent="    "))
    return 1 if report["problems"] else 0
