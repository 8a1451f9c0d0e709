"""`neuro-av finetune`: the fine-tuned run's own forward is the deployed network, spike for spike.

Real tiny runs (tests/deploy_runs.py), real fine-tuning, real export, and Lava's bit-accurate models
as the judge: lava-fixed must equal the fine-tuned model's forward on every spike of every layer of
the test split, and its S/U/HM/ZSL must equal the fine-tuned run's metrics.json.
"""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from neuro_av.cli.main import main

pytestmark = pytest.mark.lava


@pytest.fixture(scope="module")
def tuned(tiny_runs, tmp_path_factory):
    out = tmp_path_factory.mktemp("ft") / "stft-q"
    assert main(["finetune", str(tiny_runs["stft"]), "--out", str(out), "--epochs", "1", "--no-progress",
                 "--set", "batches_per_epoch=2"]) == 0
    return out


def test_the_fine_tuned_run_is_a_run_folder_with_its_frozen_calibration(tuned, tiny_runs):
    from neuro_av.run import load_run

    run = load_run(tuned)
    assert "fixed_point" in run.checkpoint and run.model.partition().snn.fixed_point is not None
    m = json.loads((tuned / "metrics.json").read_text())
    assert m["finetune"]["stage1_reproduction"]["identical"], m["finetune"]["stage1_reproduction"]
    assert set(m["finetune"]["fixed_point_counts"]) == {"stage 1", "stage 2", "test"}
    assert main(["evaluate", str(tuned), "--json"]) == 0


def test_lava_fixed_equals_the_fine_tuned_forward_on_every_spike_and_on_the_metrics(tuned, tmp_path):
    from neuro_av.export import deploy, hybrid
    from neuro_av.export.backends import run as run_backends
    from neuro_av.export.plan import Streams
    from neuro_av.run import clip_batch, load_run
    from neuro_av.sim.cosim import deployable_run

    run = load_run(tuned)
    sim_out = tmp_path / "sim"
    assert main(["sim", str(tuned), "--backend", "lava-fixed", "--out", str(sim_out), "--no-progress"]) == 0
    report = json.loads((sim_out / "report.json").read_text())
    metrics = json.loads((tuned / "metrics.json").read_text())
    for k in ("S", "U", "HM", "ZSL"):
        assert report["backends"]["lava-fixed"][k] == pytest.approx(metrics[k], abs=1e-9), k
    assert report["finetuned"]["equal_to_metrics_json"] == {"lava-fixed": True}

    branch = deploy.load_branch(run.export_dir)
    clips, _, _ = run.data.protocol_set("test")
    with torch.no_grad():
        snn_in, _ = run.model.pre(clip_batch(clips, np.arange(len(clips))))
        own = run.model.partition().snn(snn_in)
    streams = Streams(*hybrid.streams(snn_in))
    lava = run_backends(["lava-fixed"], deployable_run(run, branch), streams, None)["lava-fixed"]
    for chain, layers in own.spikes.items():
        for i, s in enumerate(layers):
            name = f"{chain}.lif{i}"
            np.testing.assert_array_equal(s.numpy().astype(np.uint8), lava.spikes[name], err_msg=name)


def test_a_run_without_a_spiking_branch_or_already_fine_tuned_is_refused(tuned, tmp_path, capsys):
    assert main(["finetune", str(tuned), "--out", str(tmp_path / "again"), "--no-progress"]) == 2
    assert "already a fine-tuned run" in capsys.readouterr().err
    assert main(["finetune", str(tuned), "--out", str(tuned), "--no-progress"]) == 2
    assert "is the run being fine-tuned" in capsys.readouterr().err
    assert main(["finetune", str(tuned.parent), "--out", str(tmp_path / "x"), "--set", "nonsense=1"]) == 2
    assert "no such fine-tuning setting" in capsys.readouterr().err
