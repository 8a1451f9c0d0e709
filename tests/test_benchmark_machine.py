"""The benchmarks name the machine their figures were measured on, and the README quotes them with it.

``benchmarks/finetune_fidelity.py`` keeps runs from several invocations (and sessions) in one JSON, so
each run carries its own machine and the README's table names each row's; ``train_throughput.py``
records ``neuro_av.versions.machine_info`` as the other benchmarks do.
"""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"benchmark_{name}", ROOT / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


finetune = _load("finetune_fidelity")
throughput = _load("train_throughput")


def _run(seed: int, machine: dict | None) -> dict:
    run = {"model": "stft", "weight_decay": 1e-5, "seed": seed, "train_seconds": 100.0, "finetune_seconds": 20.0,
           "float": {"HM": 15.0 + seed, "ZSL": 30.0},
           "float_deployed_lava_fixed": {"HM": 15.0 + seed, "ZSL": 30.0, "dice_vs_float": {"a.lif0": 0.99}},
           "finetuned_deployed_lava_fixed": {"HM": 16.0, "ZSL": 31.0, "equals_metrics_json": True,
                                             "dice_vs_own_forward_torch_fixed": {"a.lif0": 1.0}}}
    if machine is not None:
        run["machine"] = machine
    return run


def test_machine_label_names_cpu_avx512_cores_and_threads():
    label = finetune.machine_label
    assert label({"cpu": "Intel(R) Xeon(R) Processor", "avx512": True, "cores": 2, "torch_threads": 2}) == \
        "Intel Xeon with AVX-512, 2 cores, 2 torch threads"
    assert label({"cpu": "AMD EPYC 7B13 64-Core Processor", "avx512": False, "cores": 2, "torch_threads": 1}) == \
        "AMD EPYC 7B13 without AVX-512, 2 cores, 1 torch thread"
    assert label({"cpu": "AMD EPYC", "avx512": True, "cores": 2, "torch_threads": "not recorded",
                  "recorded": "from the README of commit 98906a3"}) == "AMD EPYC with AVX-512, 2 cores"
    for unknown in (None, {}, {"cpu": "x86_64", "cores": 2}, {"cpu": "not recorded"}):
        assert label(unknown) == "not recorded"


def test_table_row_names_the_machine_of_each_run():
    xeon = {"cpu": "Intel(R) Xeon(R) Processor", "avx512": True, "cores": 2, "torch_threads": 2}
    (same,) = finetune.table([_run(0, xeon), _run(1, xeon)])
    assert same.endswith("| Intel Xeon with AVX-512, 2 cores, 2 torch threads |")
    (mixed,) = finetune.table([_run(0, xeon), _run(1, None), _run(2, None)])
    assert mixed.endswith("| Intel Xeon with AVX-512, 2 cores, 2 torch threads (seed 0); not recorded (seeds 1, 2) |")
    assert finetune.TABLE_HEADER.count("|") == same.count("|")


def test_each_measured_run_records_the_invocations_machine(tmp_path):
    info = finetune.machine()
    assert info["cpu"] and isinstance(info["avx512"], bool) and info["cores"] >= 1 and info["torch_threads"] >= 1
    assert {"torch_blas", "platform", "versions", "python", "device"} <= set(info)
    assert finetune.run_machine(info) == {k: info[k] for k in ("cpu", "avx512", "cores", "torch_threads")}
    # a step --reuse finds done is named, and its seconds come from its run's timestamped log
    run = tmp_path / "run"
    run.mkdir()
    (run / "metrics.json").write_text("{}")
    (run / "train.log").write_text("$ neuro-av train\n2026-12-02 10:00:00 epoch 1\n2026-12-02 10:02:30 done\n")
    reused: list[str] = []
    assert finetune._step("train", run / "metrics.json", True, run, "train", reused=reused) == 150.0
    assert reused == ["train"]


def test_committed_finetune_runs_each_carry_a_machine_and_the_readme_table_is_theirs():
    runs = json.loads((ROOT / "benchmarks/results/finetune_fidelity.json").read_text())["runs"]
    for run in runs:
        machine = run["machine"]
        assert set(finetune.RUN_MACHINE_KEYS) <= set(machine), run["command"]
        assert finetune.machine_label(machine) != "not recorded" or "recorded" in machine
        if not isinstance(machine["torch_threads"], int):  # added from history afterwards: says where from
            assert machine["recorded"].startswith("from the README of commit ")
    assert finetune.TABLE_HEADER in README
    for row in finetune.table(runs):
        assert row in README, row


def test_train_throughput_records_the_machine_and_the_readme_quotes_it():
    info = throughput.machine()
    assert {"cpu", "avx512", "cores", "torch_threads", "torch_blas", "versions", "python"} <= set(info)
    report = json.loads((ROOT / "benchmarks/results/train_throughput.json").read_text())
    machine = report["machine"]
    assert machine["cpu"] not in ("x86_64", "") and isinstance(machine["avx512"], bool)
    mft = next(r for r in report["results"] if r["model"] == "mft")
    cpu = finetune.machine_label({"cpu": machine["cpu"], "avx512": machine["avx512"]})
    paragraph = README[README.index("benchmarks/train_throughput.py` writes"):]
    paragraph = " ".join(paragraph[:paragraph.index("\n\n")].split())
    assert f"({cpu}, {machine['cores']} cores, {machine['torch_threads']} torch threads;" in paragraph
    assert f"MFT trained at {mft['throughput_vs_avca']:.2f}× AVCA's clips/s" in paragraph
