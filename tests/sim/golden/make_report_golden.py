"""Regenerates report_stft.json: a tiny STFT run (tests/deploy_runs.py), simulated on all backends.

    .venv/bin/python tests/sim/golden/make_report_golden.py   # about a minute on 2 cores

The run's temporary paths are replaced by ``runs/stft`` so the file does not name this machine.
"""
from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parents[1])]  # tests/, for deploy_runs and helpers


def main() -> None:
    from deploy_runs import make_data, train_tiny
    from neuro_av.cli.main import main as cli

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        os.environ["NEURO_AV_CACHE"] = str(root / "cache")  # feature caches stay in the temporary folder
        run = train_tiny(make_data(root / "data"), root / "stft", "stft")
        assert cli(["sim", str(run), "--backend", "all", "--out", str(root / "sim"), "--no-progress"]) == 0
        text = (root / "sim" / "report.json").read_text().replace(str(run.resolve()), "runs/stft")
    (HERE / "report_stft.json").write_text(json.dumps(json.loads(text), indent=1) + "\n")


if __name__ == "__main__":
    main()
