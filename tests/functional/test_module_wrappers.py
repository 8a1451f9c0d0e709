"""The module wrappers call the step functions, keep state within a clip and reset it between clips."""
import torch

from neuro_av.functional.lif import LIFStepParams, dt_lif_step, zero_state
from neuro_av.models.spiking import (
    DAB,
    EGM,
    GLP,
    TSF,
    DynamicThresholdLIF,
    MultiScaleTucker,
)

P = LIFStepParams(tau_syn_s=5e-3, tau_mem_s=1e-2, dt_s=1e-3)


def test_lif_module_equals_the_step_loop_and_resets_between_clips():
    torch.manual_seed(0)
    x = torch.rand(3, 6, 5, dtype=torch.float64) * 4
    theta = 0.1 + torch.rand(3, 6, 5, dtype=torch.float64) * 0.2
    out = DynamicThresholdLIF(P)(x, theta)
    state, ref = zero_state(x[:, 0]), []
    for t in range(6):
        z, state = dt_lif_step(x[:, t], state, theta[:, t], P)
        ref.append(z)
    assert torch.equal(out, torch.stack(ref, 1))
    again = DynamicThresholdLIF(P)(x, theta)  # a second clip starts from rest: same result
    assert torch.equal(out, again) and 0 < out.sum() < out.numel()


def test_lif_module_gradients_reach_threshold_producer():
    x = torch.rand(2, 4, 3) * 4
    producer = torch.nn.Linear(3, 3)
    theta = torch.sigmoid(producer(x))  # (B, T, N)
    DynamicThresholdLIF(P)(x, theta).sum().backward()
    assert producer.weight.grad is not None and producer.weight.grad.abs().sum() > 0


def test_other_wrappers_shapes_and_learnable_parameters():
    x = torch.randn(2, 5, 16)
    g = GLP()
    assert g(x).shape == x.shape and abs(g.lam.item() - 0.5) < 1e-6
    spikes = (torch.rand(2, 5, 8) > 0.5).float()
    y = TSF(16)(spikes, x)
    assert y.shape == (2, 8) and (y >= 0).all() and (y <= 1).all()
    ev = EGM(contrast=0.1)(x)
    assert ev.shape == x.shape and set(ev.unique().tolist()) <= {-1.0, 0.0, 1.0}
    d = DAB()
    assert d(x, ev).shape == x.shape and abs(torch.nn.functional.softplus(d.beta_raw).item() - 1.0) < 1e-3
    fused = MultiScaleTucker(8, 16, 12, rank=3, scales=(4, 8))(torch.randn(2, 8), torch.randn(2, 16))
    assert fused.shape == (2, 12)
