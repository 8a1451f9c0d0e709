"""What fixed-point fine-tuning buys: float model, float model deployed in fixed point, fine-tuned model
deployed, per model and seed, on the embedded benchmark (SynthAV from `neuro-av data synth`).

For each model and seed, with the commands a user types (``neuro-av train``, ``finetune``, ``sim``):

- the trained run's test S/U/HM/ZSL (float, ``metrics.json``);
- the same run deployed in fixed point: ``sim --backend lava-fixed`` (Lava's bit-accurate models on
  all test clips), its HM/ZSL and its per-layer spike Dice against the float (Norse) reference;
- the fine-tuned run deployed: lava-fixed HM/ZSL, its Dice against the fine-tuned model's own
  forward (torch-fixed; 1.0 by construction) and against that model's float reference, and
  whether lava-fixed's S/U/HM/ZSL equal the fine-tuned run's ``metrics.json``;
- the cost: training and fine-tuning seconds (wall clock; with ``--reuse``, a step found done is not
  run again and its seconds are read from its folder's timestamped train.log);
- the machine: each run's ``machine`` (CPU model, AVX-512, cores, torch threads) is that of the
  invocation that measured it, since ``--out`` keeps runs from other invocations and sessions; the
  file's top-level ``machine`` is the last invocation's in full (``neuro_av.versions.machine_info``).
  Steps a ``--reuse`` invocation found done are listed in the run's ``reused_steps``: they ran
  earlier, on the machine of the invocation that ran them.

    .venv/bin/python benchmarks/finetune_fidelity.py [--models stft mdft] [--seeds 0 1 2] [--epochs 3]
        [--work /tmp/neuro-av-finetune-bench] [--out benchmarks/results/finetune_fidelity.json]

Results are written after every (model, seed), so an interrupted run keeps what it measured; runs of
other models or seeds already in ``--out`` are kept. ``--table`` prints the README's rows from
``--out``, each naming the machines its runs were measured on.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
CLI = [sys.executable, "-m", "neuro_av"]


def _cli(*args: str) -> float:
    t0 = time.perf_counter()
    subprocess.run([*CLI, *args], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def _report(sim_dir: Path) -> dict:
    return json.loads((sim_dir / "report.json").read_text())


def _dice_between(sim_dir: Path, got: str, ref: str) -> dict:
    """Per-layer Dice of backend ``got`` against backend ``ref`` from the sim's saved spikes."""
    from neuro_av.export.fidelity import fidelity

    with np.load(sim_dir / "spikes.npz") as z:
        spikes = {k: z[k] for k in z.files}
    layers = sorted({k.split("/", 1)[1] for k in spikes})
    a = {layer: spikes[f"{got}/{layer}"] for layer in layers}
    b = {layer: spikes[f"{ref}/{layer}"] for layer in layers}
    mask = np.ones(next(iter(a.values())).shape[:2], bool)  # padded steps are silent in every backend
    return {k: round(v["dice"], 6) for k, v in fidelity(a, b, mask)["layers"].items()}


def _accuracy(d: dict) -> dict:
    return {k: round(d[k], 4) for k in ("S", "U", "HM", "ZSL")}


def _logged_seconds(run: Path) -> float:
    """Wall clock from the first to the last timestamped line of RUN/train.log (a step reused)."""
    from datetime import datetime

    stamps = [datetime.strptime(line[:19], "%Y-%m-%d %H:%M:%S") for line in (run / "train.log").read_text().splitlines()
              if line[:4].isdigit()]
    return (stamps[-1] - stamps[0]).total_seconds()


def _step(name: str, done: Path, reuse: bool, run: Path | None, *args: str,
          reused: list[str] | None = None) -> float | None:
    """Run ``neuro-av ARGS`` unless ``reuse`` and its output ``done`` exists; its seconds (from the
    run's log when reused and ``run`` is given). A step reused is appended to ``reused`` by ``name``."""
    if reuse and done.is_file():
        if reused is not None:
            reused.append(name)
        return _logged_seconds(run) if run is not None else None
    return _cli(*args)


RUN_MACHINE_KEYS = ("cpu", "avx512", "cores", "torch_threads")


def machine() -> dict:
    """The invocation's machine: ``neuro_av.versions.machine_info`` (CPU model and AVX-512 flag, cores,
    torch threads and BLAS, platform, versions), Python's version and the device training uses."""
    import torch

    from neuro_av.versions import machine_info

    return {**machine_info(), "python": platform.python_version(),
            "device": "cuda" if torch.cuda.is_available() else "cpu"}


def run_machine(info: dict) -> dict:
    """The part of ``machine()`` each run carries: CPU model, AVX-512, cores, torch threads."""
    return {k: info[k] for k in RUN_MACHINE_KEYS}


def measure(model: str, seed: int, data: Path, work: Path, epochs: int, sets: list[str], reuse: bool = False,
            machine_record: dict | None = None) -> dict:
    tag = "".join(f"-{s.replace('=', '')}" for s in sets)
    run, tuned = work / f"{model}-s{seed}{tag}", work / f"{model}-s{seed}{tag}-q"
    reused: list[str] = []
    train_s = _step("train", run / "metrics.json", reuse, run, "train", "--model", model, "--data", str(data),
                    "--out", str(run), "--set", f"seed={seed}", *[a for s in sets for a in ("--set", s)],
                    "--no-progress", "--force", reused=reused)
    sim_src = run / "sim-fixed"
    _step("sim", sim_src / "report.json", reuse, None, "sim", str(run), "--backend", "lava-fixed",
          "--out", str(sim_src), "--no-progress", "--save-spikes", reused=reused)
    finetune_s = _step("finetune", tuned / "metrics.json", reuse, tuned, "finetune", str(run), "--out", str(tuned),
                       "--epochs", str(epochs), "--no-progress", "--force", reused=reused)
    sim_ft = tuned / "sim-fixed"
    _step("sim of the fine-tuned run", sim_ft / "report.json", reuse, None, "sim", str(tuned), "--backend",
          "lava-fixed", "--backend", "torch-fixed", "--out", str(sim_ft), "--no-progress", "--save-spikes",
          reused=reused)
    src_metrics = json.loads((run / "metrics.json").read_text())
    config = json.loads((run / "config.json").read_text())
    weight_decay = config["train_config"]["weight_decay"]
    ft_metrics = json.loads((tuned / "metrics.json").read_text())
    src_rep, ft_rep = _report(sim_src), _report(sim_ft)
    src_fixed, ft_fixed = src_rep["backends"]["lava-fixed"], ft_rep["backends"]["lava-fixed"]
    return {
        "model": model, "seed": seed, "weight_decay": weight_decay, "git_sha": config.get("git_sha"),
        "test_clips": src_rep["clips"],
        "float": _accuracy(src_metrics),
        "float_deployed_lava_fixed": {**_accuracy(src_fixed),
                                      "dice_vs_float": {k: round(v["dice"], 6)
                                                        for k, v in src_fixed["fidelity"]["layers"].items()},
                                      "firing_rate_float": {k: round(v["rate_ref"], 6)
                                                            for k, v in src_fixed["fidelity"]["layers"].items()}},
        "finetuned_deployed_lava_fixed": {
            **_accuracy(ft_fixed),
            "dice_vs_own_forward_torch_fixed": _dice_between(sim_ft, "lava-fixed", "torch-fixed"),
            "dice_vs_its_float_reference": {k: round(v["dice"], 6) for k, v in ft_fixed["fidelity"]["layers"].items()},
            "equals_metrics_json": all(abs(ft_fixed[k] - ft_metrics[k]) < 1e-9 for k in ("S", "U", "HM", "ZSL"))},
        "finetune_chosen_epochs": ft_metrics["best_epoch"], "finetune_epochs": epochs,
        "stage1_reproduced_identically": ft_metrics["finetune"]["stage1_reproduction"]["identical"],
        "train_seconds": round(train_s, 1), "finetune_seconds": round(finetune_s, 1),
        "machine": run_machine(machine_record or machine()),
        **({"reused_steps": reused} if reused else {}),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="+", default=["stft", "mdft"])
    ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    ap.add_argument("--epochs", type=int, default=3, help="stage-1 fine-tuning epochs")
    ap.add_argument("--work", default="/tmp/neuro-av-finetune-bench")
    ap.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE",
                    help="a training setting for every run (neuro-av train --set); runs differing in weight_decay "
                         "are kept side by side in --out")
    ap.add_argument("--out", default=str(HERE / "results" / "finetune_fidelity.json"))
    ap.add_argument("--reuse", action="store_true",
                    help="skip a step whose output is in --work already (its seconds then come from the run's train.log)")
    ap.add_argument("--table", action="store_true",
                    help="print the README's Markdown table from --out (a row per model and weight decay, naming "
                         "the machines its runs were measured on), measure nothing")
    args = ap.parse_args()
    if args.table:
        rows = table(json.loads(Path(args.out).read_text())["runs"])
        print("\n".join([TABLE_HEADER, "|---|---:|---|---|---|---:|---|---:|---|---:|---|", *rows]))
        return

    work = Path(args.work)
    data = work / "data"
    if not (data / "SynthAV" / "dataset.json").is_file():
        _cli("data", "synth", "--out", str(data))
    info = machine()
    result = {"benchmark": "finetune_fidelity", "command": " ".join(sys.argv), "machine": info,
              "data": "SynthAV (neuro-av data synth, the embedded benchmark)", "runs": []}
    out = Path(args.out)
    for model in args.models:
        for seed in args.seeds:
            print(f"{model} seed {seed} ...", flush=True)
            again = " ".join([f"benchmarks/finetune_fidelity.py --models {model} --seeds {seed} --epochs {args.epochs}",
                              *[f"--set {x}" for x in args.sets]])  # what measures this run again
            run = {**measure(model, seed, data, work, args.epochs, args.sets, args.reuse, info), "command": again}
            _publish(out, result, run)
            print(json.dumps(run), flush=True)


def _spread(values) -> str:
    v = np.asarray(values, float)
    return f"{v.mean():.2f} ± {v.std(ddof=1):.2f}" if v.size > 1 else f"{v[0]:.2f}"


def machine_label(m: dict | None) -> str:
    """A run's machine in words: "Intel Xeon with AVX-512, 2 cores, 2 torch threads" (what is not
    recorded left out; "not recorded" when the CPU is not)."""
    import re

    cpu = (m or {}).get("cpu")
    if not isinstance(cpu, str) or cpu in ("", "not recorded", "x86_64", "aarch64"):
        return "not recorded"
    cpu = re.sub(r"\((R|TM|tm)\)", "", cpu)
    cpu = re.sub(r"\s*@.*$|\s+\d+-Core Processor$|\s+(Processor|CPU)$", "", cpu)
    cpu = " ".join(cpu.split())
    avx = m.get("avx512")
    words = [cpu + (" with AVX-512" if avx is True else " without AVX-512" if avx is False else "")]
    for key, unit in (("cores", "core"), ("torch_threads", "torch thread")):
        n = m.get(key)
        if isinstance(n, int) and not isinstance(n, bool):
            words.append(f"{n} {unit}{'' if n == 1 else 's'}")
    return ", ".join(words)


def _machines(rs: list[dict]) -> str:
    """The machines of a row's runs: one label, or each label with its seeds."""
    labels: dict[str, list[int]] = {}
    for r in rs:
        labels.setdefault(machine_label(r.get("machine")), []).append(r["seed"])
    if len(labels) == 1:
        return next(iter(labels))
    return "; ".join(f"{label} (seed{'s' if len(seeds) > 1 else ''} {', '.join(map(str, seeds))})"
                     for label, seeds in labels.items())


def table(runs: list[dict]) -> list[str]:
    """Markdown rows, one per (model, weight decay): HM / ZSL as mean ± sample std over the seeds, and the
    machine(s) the runs were measured on (the README's header row: ``TABLE_HEADER``)."""
    rows = []
    for key in sorted({(r["model"], r["weight_decay"]) for r in runs}, key=lambda k: (k[0] != "stft", k)):
        rs = sorted((r for r in runs if (r["model"], r["weight_decay"]) == key), key=lambda r: r["seed"])
        pair = lambda part: (f"{_spread([r[part]['HM'] for r in rs])} / "  # noqa: E731
                             f"{_spread([r[part]['ZSL'] for r in rs])}")
        lowest = min(min(r["float_deployed_lava_fixed"]["dice_vs_float"].values()) for r in rs)
        own = min(min(r["finetuned_deployed_lava_fixed"]["dice_vs_own_forward_torch_fixed"].values()) for r in rs)
        same = "yes, every run" if all(r["finetuned_deployed_lava_fixed"]["equals_metrics_json"] for r in rs) else "no"
        ratios = [r["finetune_seconds"] / r["train_seconds"] for r in rs]
        rows.append(f"| {key[0].upper()} | {key[1]:g} | {', '.join(str(r['seed']) for r in rs)} | {pair('float')} | "
                    f"{pair('float_deployed_lava_fixed')} | {lowest:.4f} | {pair('finetuned_deployed_lava_fixed')} | "
                    f"{own:.4f} | {same} | {min(ratios):.2f}–{max(ratios):.2f}× | {_machines(rs)} |")
    return rows


TABLE_HEADER = ("| model | weight decay | seeds | float HM / ZSL | float deployed (lava-fixed) HM / ZSL | "
                "its lowest per-layer Dice vs float | fine-tuned deployed HM / ZSL | its Dice vs own forward | "
                "= metrics.json | fine-tune / train time | machine |")


def _key(run: dict) -> tuple:
    return run["model"], run["seed"], run["weight_decay"]


def _publish(out: Path, result: dict, run: dict) -> None:
    """Add ``run`` to ``out``, replacing a run of the same model, seed and weight decay; the file is read
    again here, so runs another invocation wrote meanwhile are kept."""
    import fcntl

    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out.with_suffix(".json.lock"), "w") as lock:  # invocations for other seeds may publish too
        fcntl.flock(lock, fcntl.LOCK_EX)
        kept = json.loads(out.read_text())["runs"] if out.is_file() else []
        result["runs"] = [r for r in kept if _key(r) != _key(run)] + [run]
        tmp = out.with_suffix(f".json.tmp-{os.getpid()}")
        tmp.write_text(json.dumps(result, indent=2) + "\n")
        tmp.replace(out)


if __name__ == "__main__":
    main()
