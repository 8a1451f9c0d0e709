"""Hand-computed golden values for every step function (see the comments for the arithmetic)."""
import math

import pytest
import torch

from neuro_av.functional.discrepancy import dab
from neuro_av.functional.events import egm
from neuro_av.functional.lif import LIFStepParams, dt_lif_step, zero_state
from neuro_av.functional.pooling import glp, tsf
from neuro_av.functional.tucker import tucker_fusion

P = LIFStepParams(tau_syn_s=5e-3, tau_mem_s=1e-2, dt_s=1e-3)  # dt/τ_mem = 0.1, dt/τ_syn = 0.2


def test_dynamic_threshold_lif_trajectory():
    # step 1: i' = 1, v = 0.1·1 = 0.1 < θ=0.5, i = 0.8
    # step 2: i' = 0.8, v = 0.1 + 0.1·(−0.1 + 0.8) = 0.17 > θ=0.15 → spike, v = 0, i = 0.64
    # step 3: i' = 0.64, v = 0.064 < θ=0.5, i = 0.512
    x = [torch.tensor([[1.0]], dtype=torch.float64), torch.zeros(1, 1, dtype=torch.float64),
         torch.zeros(1, 1, dtype=torch.float64)]
    thetas = [0.5, 0.15, 0.5]
    state = zero_state(x[0])
    spikes, volts, currents = [], [], []
    for xt, th in zip(x, thetas):
        z, state = dt_lif_step(xt, state, torch.tensor(th, dtype=torch.float64), P)
        spikes.append(z.item()), volts.append(state.v.item()), currents.append(state.i.item())
    assert spikes == [0.0, 1.0, 0.0]
    assert volts == pytest.approx([0.1, 0.0, 0.064])
    assert currents == pytest.approx([0.8, 0.64, 0.512])


def test_threshold_is_per_neuron_and_receives_the_surrogate_gradient():
    x = torch.tensor([[1.0, 1.0]], dtype=torch.float64)
    theta = torch.tensor([[0.05, 0.2]], dtype=torch.float64, requires_grad=True)  # v = 0.1 after one step
    z, _ = dt_lif_step(x, zero_state(x), theta, P)
    assert z.tolist() == [[1.0, 0.0]]
    z.sum().backward()
    # SuperSpike: ∂z/∂θ = −1 / (α|v − θ| + 1)², α = 100: |v − θ| = 0.05 and 0.1 → −1/36, −1/121
    assert theta.grad.tolist()[0] == pytest.approx([-1 / 36, -1 / 121])


def test_glp_by_hand():
    x = torch.tensor([[1.0, 3.0, 2.0, 0.0]])
    # max (same pad): [3, 3, 3, 2]; mean of real entries: [2, 2, 5/3, 1]; 0.25·max + 0.75·mean
    assert glp(x, 0.25, window=3).tolist()[0] == pytest.approx([2.25, 2.25, 2.0, 1.25])
    with pytest.raises(ValueError, match="odd"):
        glp(x, 0.5, window=2)


def test_tsf_by_hand():
    spikes = torch.tensor([[[1.0, 0.0], [1.0, 1.0]]])
    logits = torch.tensor([[0.0, math.log(3.0)]])  # softmax → [0.25, 0.75]
    assert tsf(spikes, logits).tolist()[0] == pytest.approx([1.0, 0.75])
    assert tsf(spikes, logits, mask=torch.tensor([[True, False]])).tolist()[0] == pytest.approx([1.0, 0.0])


def test_egm_events_with_reference_reset():
    # log intensity of dim 0: [0, .3, .35, .05]; C = 0.2
    # t1: Δ = .3 → +1, ref = .3; t2: Δ = .05 → none; t3: Δ = −.25 → −1. Dim 1 is constant: none.
    lx = torch.tensor([0.0, 0.3, 0.35, 0.05])
    x = torch.stack([lx.exp(), torch.ones(4)], dim=-1)[None]  # (1, 4, 2)
    ev = egm(x, contrast=0.2, eps=0.0)
    assert ev[0].tolist() == [[0, 0], [1, 0], [0, 0], [-1, 0]]
    masked = egm(x, contrast=0.2, eps=0.0, mask=torch.tensor([[True, True, True, False]]))
    assert masked[0, 3].tolist() == [0, 0]


def test_dab_by_hand():
    a, ev = torch.tensor([1.0, 0.0]), torch.tensor([1.0, 2.0])
    # (E_v − a)/β = [0, 1]; ‖·‖² = 1 → + (1 − e^−1) on every feature
    assert dab(a, ev, 2.0).tolist() == pytest.approx([1 + 1 - math.exp(-1), 1 - math.exp(-1)])
    assert dab(a, ev, 2.0, reduce="elementwise").tolist() == pytest.approx([1.0, 1 - math.exp(-1)])


def test_tucker_rank_two_by_hand():
    y, z = torch.tensor([[1.0, 2.0]]), torch.tensor([[3.0, 1.0]])
    eye, swap = torch.eye(2), torch.tensor([[0.0, 1.0], [1.0, 0.0]])
    # r=1: y⊙z = [3, 2]; r=2: (y·swap)⊙(z·2I) = [2, 1]⊙[6, 2] = [12, 2]; sum [15, 4]
    out = tucker_fusion(y, z, torch.stack([eye, swap]), torch.stack([eye, 2 * eye]))
    assert out.tolist() == [[15.0, 4.0]]
    with pytest.raises(ValueError, match="Tucker shapes"):
        tucker_fusion(y, z, torch.zeros(2, 3, 3), torch.zeros(2, 2, 2))


def test_forward_equals_norse_lif_feed_forward_step():
    torch.manual_seed(0)
    x = torch.rand(50, 4, 16, dtype=torch.float64) * 3
    theta = 0.05 + torch.rand(50, 4, 16, dtype=torch.float64) * 0.3
    ours, norse = zero_state(x[0]), zero_state(x[0])
    total = 0.0
    for t in range(50):
        z1, ours = dt_lif_step(x[t], ours, theta[t], P)
        z2, norse = dt_lif_step(x[t], norse, theta[t], P._replace(surrogate="norse"))
        assert torch.equal(z1, z2)
        torch.testing.assert_close(ours.v, norse.v, rtol=1e-7, atol=1e-7)  # Norse rounds dt/τ to float32
        torch.testing.assert_close(ours.i, norse.i, rtol=1e-7, atol=1e-7)  # Norse rounds dt/τ to float32
        total += float(z1.sum())
    assert 0 < total < x.numel(), "the comparison needs neurons that both spike and stay silent"


def test_norse_1_1_superspike_ignores_alpha():
    """Why the default surrogate is neuro-av's: Norse's backward is 1/(|x|+1)² whatever α is."""
    x = torch.tensor([[1.0]], dtype=torch.float64)
    theta = torch.tensor([[0.05]], dtype=torch.float64, requires_grad=True)  # |v − θ| = 0.05
    z, _ = dt_lif_step(x, zero_state(x), theta, P._replace(surrogate="norse", surrogate_alpha=100.0))
    z.sum().backward()
    assert theta.grad.item() == pytest.approx(-1 / 1.05**2)
