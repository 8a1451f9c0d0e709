"""STFT and MDFT: the partition contract, every ablation switch, cost accounting."""
import numpy as np
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


def _lif_by_hand(current, theta, mask, p):
    """The LIF equations of MODELS.md written out in NumPy float64, one step at a time."""
    b, t_len, n = current.shape
    v, i, out = np.zeros((b, n)), np.zeros((b, n)), []
    theta = np.broadcast_to(theta, (b, t_len, n)) if theta.ndim == 3 else np.broadcast_to(theta, (b, n))
    for t in range(t_len):
        i = i + current[:, t] * mask[:, t, None]
        v = v + (p.dt_s / p.tau_mem_s) * (p.v_leak - v + i)
        i = i * (1 - p.dt_s / p.tau_syn_s)
        s = (v > (theta[:, t] if theta.ndim == 3 else theta)).astype(np.float64)
        v = np.where(s > 0, p.v_reset, v)
        out.append(s)
    return np.stack(out, 1)


@pytest.mark.parametrize("name", ["stft", "mdft"])
def test_spiking_branch_follows_the_lif_equations_and_post_reads_its_spikes(name):
    torch.manual_seed(0)
    model = build_model(name, make_config(name, "SynthAV")).double().eval()
    x = clips()
    x = ClipBatch(x.audio.double(), x.video.double(), x.mask)
    pre, snn, post = model.partition()
    with torch.no_grad():
        snn_in, state = pre(x)
        out = snn(snn_in)
        mask = snn_in.mask.numpy().astype(np.float64)
        for chain, layers in snn.chains.items():
            h = snn_in.current[chain].numpy()
            for k, (layer, theta) in enumerate(zip(layers, snn_in.thresholds[chain])):
                h = _lif_by_hand(h @ layer.weight.numpy().T + layer.bias.numpy(), theta.numpy(), mask,
                                 snn.lif_params)
                np.testing.assert_array_equal(out.spikes[chain][k].numpy(), h, err_msg=f"{chain} layer {k}")
                assert 0 < h.mean() < 1, f"{chain} layer {k} silent or saturated"
        # post really reads the spikes: silencing the last layer of one chain moves the embeddings
        first = next(iter(out.spikes))
        silenced = {c: [*l[:-1], torch.zeros_like(l[-1])] if c == first else l for c, l in out.spikes.items()}
        before = post(x, state, out)
        after = post(x, state, type(out)(silenced))
        assert any(not torch.allclose(a, b) for a, b in zip(before, after))


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


def _outputs(model, text):
    model.eval()  # no dropout: the only difference left is the switch
    with torch.no_grad():
        torch.manual_seed(5)
        loss, parts = model(_batch(clips(), n_classes=3))
        return model.distances(clips(), text), loss, {k: float(v) for k, v in parts.items()}


@pytest.mark.parametrize("name,ablation", [(m, a) for m in ("stft", "mdft", "mft", "avca") for a in ABLATIONS[m]
                                           if a != "none"])
def test_every_ablation_switch_changes_what_the_model_computes(name, ablation):
    torch.manual_seed(0)
    base = small(name)
    torch.manual_seed(0)
    variant = small(name, **ablation_overrides(name, ablation))
    # the same weights wherever the two share a parameter, so a difference comes from the switch alone
    shared = {k: v for k, v in base.state_dict().items()
              if k in variant.state_dict() and variant.state_dict()[k].shape == v.shape}
    variant.load_state_dict(shared, strict=False)
    torch.manual_seed(2)
    text = torch.randn(5, 300)
    d0, loss0, parts0 = _outputs(base, text)
    d1, loss1, parts1 = _outputs(variant, text)
    changed_scores = not torch.allclose(d0, d1, rtol=1e-5, atol=1e-6)
    changed_loss = set(parts0) != set(parts1) or not torch.allclose(loss0, loss1, rtol=1e-5, atol=1e-6)
    # loss-only switches (no_kl, no_triplet, ...) leave the scores alone and change the loss
    assert changed_scores or changed_loss, f"{name}:{ablation} computes exactly what {name} computes"


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


def test_avca_batchnorm_momentum_follows_the_public_embedding_net():
    """The public script's momentum (0.99 on ActivityNet) goes to the output BatchNorm of a two-layer
    EmbeddingNet only; the hidden one and a one-layer net's keep torch's 0.1."""
    model = build_model("avca", make_config("avca", "ActivityNet"))
    momenta = lambda net: [m.momentum for m in net.modules() if isinstance(m, nn.BatchNorm1d)]
    assert momenta(model.a_enc) == [0.1, 0.99] and momenta(model.w_proj) == [0.1]
