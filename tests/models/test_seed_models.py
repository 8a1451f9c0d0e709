"""STFT and MDFT: the partition contract, every ablation switch, cost accounting."""
import pytest
import torch
from torch import nn

from neuro_av.models.base import ClipBatch, TrainBatch
from neuro_av.models.costs import cost_report
from neuro_av.models.partition import SpikingBranch
from neuro_av.models.registry import (
    ABLATIONS,
    ablation_overrides,
    build_model,
    make_config,
)
from neuro_av.models.spiking import DynamicThresholdLIF


def clips(b=4, t=6, mask_tail=True):
    torch.manual_seed(1)
    mask = torch.ones(b, t, dtype=torch.bool)
    if mask_tail:
        mask[0, -2:] = False  # one shorter clip
    return ClipBatch(torch.randn(b, t, 512), torch.randn(b, t, 512), mask)


def small(name, **over):
    base = {"stft": {"snn_widths": (32, 32), "token_dim": 48, "heads": 2, "dim_head": 24, "tucker_scales": (8, 16),
                     "tucker_rank": 3, "encoder_hidden": 64, "decoder_hidden": 64, "slots": 4},
            "mdft": {"hidden": 64, "snn_widths": (32, 32, 32), "heads": 2, "dim_head": 32, "mlp_dim": 64,
                     "rjlu_chunks": 4, "rjlu_heads": 2, "decoder_hidden": 64, "egm_source": "encoded"},
            "mft": {"token_dim": 48, "heads": 2, "dim_head": 24, "encoder_hidden": 64, "decoder_hidden": 64},
            "avca": {}}[name]
    return build_model(name, make_config(name, "SynthAV", {**base, **over}))


@pytest.mark.parametrize("name", ["stft", "mdft"])
def test_partition_reproduces_the_model_exactly(name):
    torch.manual_seed(0)
    model = build_model(name, make_config(name, "SynthAV")).eval()
    x = clips()
    pre, snn, post = model.partition()
    snn_in, state = pre(x)
    out = snn(snn_in)
    with torch.no_grad():
        for a, b in zip(post(x, state, out), model.clip_embeddings(x)):
            assert torch.equal(a, b)
    # the spiking part holds only Linear synapses and LIF neurons
    kinds = {type(m) for m in snn.modules()} - {SpikingBranch, nn.ModuleDict, nn.ModuleList}
    assert kinds == {nn.Linear, DynamicThresholdLIF}
    for chain, layers in out.spikes.items():
        assert snn_in.current[chain].shape[:2] == x.mask.shape
        for spikes, theta in zip(layers, snn_in.thresholds[chain]):
            assert set(spikes.unique().tolist()) <= {0.0, 1.0}
            torch.broadcast_shapes(theta.shape, spikes.shape)
            assert 0 < spikes.mean() < 1, f"{name}/{chain} layer silent or saturated at initialisation"


def _batch(x, n_classes=3):
    target = torch.tensor([0, 1, 2, 0])
    text = torch.randn(n_classes, 300)
    return TrainBatch(x, clips(mask_tail=False), text[target], text[(target + 1) % n_classes], target, text)


@pytest.mark.parametrize("name,ablation", [(m, a) for m in ("stft", "mdft", "mft") for a in ABLATIONS[m]])
def test_every_ablation_builds_and_trains_a_step(name, ablation):
    model = small(name, **ablation_overrides(name, ablation)).train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss, parts = model(_batch(clips()))
    assert torch.isfinite(loss) and parts
    opt.zero_grad()
    loss.backward()
    opt.step()
    model.eval()
    d = model.distances(clips(), torch.randn(5, 300))
    assert d.shape == (4, 5) and torch.isfinite(d).all()


def test_fixed_threshold_is_the_base_value_and_dynamic_thresholds_stay_clamped():
    x = clips()
    fixed = small("mdft", dynamic_threshold=False, threshold_base=0.4).eval()
    snn_in, _ = fixed.pre(x)
    assert all(t.unique().tolist() == [pytest.approx(0.4)] for t in snn_in.thresholds["audio"])
    dyn = small("mdft").eval()
    snn_in, _ = dyn.pre(x)
    theta = snn_in.thresholds["visual"][0]
    assert theta.min() >= 0.1 * 0.25 - 1e-7 and theta.max() <= 10 * 0.25 + 1e-7
    stft = small("stft").eval()
    snn_in, _ = stft.pre(x)
    assert all(((t > 0) & (t <= 2 * 0.25)).all() for t in snn_in.thresholds["audio"])  # θ_0 · 2σ(·)


def test_variants_without_spiking_branch_refuse_to_partition_and_bad_settings_are_named():
    with pytest.raises(ValueError, match="no spiking branch"):
        small("mdft", snn=False).partition()
    with pytest.raises(ValueError, match="egm_source='input' needs video_dim == hidden"):
        small("mdft", egm_source="input")


def test_cost_report_counts_synops_from_real_spikes():
    model = small("stft").eval()
    x = clips(mask_tail=False)
    report = cost_report(model, x)
    pre, snn, _ = model.partition()
    with torch.no_grad():
        snn_in, _ = pre(x)
        out = snn(snn_in)
    # layer 2 of each chain: every spike of layer 1 reaches 32 targets
    expected = sum(float(out.spikes[c][0].sum()) * 32 for c in ("audio", "visual")) / 4
    assert report["snn_synops"] == pytest.approx(expected)
    assert report["snn_first_layer_macs"] == pytest.approx(2 * 6 * 48 * 32)
    assert report["parameters"] == sum(p.numel() for p in model.parameters())
    assert report["ann_macs_per_clip"] > 0
    assert cost_report(small("mft"), x).get("snn_synops") is None
