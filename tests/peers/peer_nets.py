"""Networks built the way the peers' documentation builds them, exported with their own tools, and
their own forward passes (float64) as the oracle: spikes of every neuron layer, (B, T, N) per layer,
under the names their exporters give the NIR nodes."""
from __future__ import annotations

import numpy as np
import torch

DT = 1e-4  # snnTorch's export_to_nir writes τ = dt / (1 − β) with dt = 1e-4 s


def snntorch_forward(net: torch.nn.Module, x: np.ndarray) -> dict[str, np.ndarray]:
    """Spikes of every snnTorch neuron module of a Sequential, stepping ``x`` (B, T, *in)."""
    import snntorch as snn
    from snntorch import utils

    net = net.double().eval()
    layers = {str(i): m for i, m in enumerate(net) if isinstance(m, snn.SpikingNeuron)}
    seen = {k: [] for k in layers}
    # snnTorch's spike functions return float32 whatever the layer's dtype: cast between modules
    hooks = [m.register_forward_pre_hook(lambda mod, args: tuple(a.double() if torch.is_tensor(a) else a for a in args))
             for m in net.modules() if m is not net]
    hooks += [m.register_forward_hook(lambda mod, inp, out, k=k: seen[k].append(
        (out[0] if isinstance(out, tuple) else out).detach().clone())) for k, m in layers.items()]
    utils.reset(net)
    try:
        with torch.no_grad():
            for t in range(x.shape[1]):
                net(torch.from_numpy(np.ascontiguousarray(x[:, t], np.float64)))
    finally:
        for h in hooks:
            h.remove()
    return {k: torch.stack(v, 1).reshape(x.shape[0], x.shape[1], -1).numpy().astype(np.uint8) for k, v in seen.items()}


def snntorch_conv_net(seed: int = 0, reset: str = "zero") -> torch.nn.Module:
    """Conv2d → Leaky → AvgPool2d → Flatten → Linear → Leaky on 2×8×8 inputs (per-neuron β and θ, as
    snnTorch's export needs them shaped like the layer)."""
    import snntorch as snn

    torch.manual_seed(seed)
    beta1 = torch.rand(4, 8, 8) * 0.3 + 0.65
    return torch.nn.Sequential(
        torch.nn.Conv2d(2, 4, 3, padding=1),
        snn.Leaky(beta=beta1, threshold=torch.full((4, 8, 8), 0.5), init_hidden=True, reset_mechanism=reset),
        torch.nn.AvgPool2d(2), torch.nn.Flatten(), torch.nn.Linear(64, 5),
        snn.Leaky(beta=torch.full((5,), 0.8), threshold=torch.full((5,), 0.3), init_hidden=True,
                  reset_mechanism=reset, output=True))


def snntorch_dense_net(seed: int = 0, reset: str = "zero", reset_delay: bool = False) -> torch.nn.Module:
    """Linear → Synaptic → Linear → Leaky (current-based first layer). ``reset_delay=False`` resets the
    Synaptic membrane on the spike's own step, as NIR's CubaLIF does; snnTorch's default (True)
    zeroes it on the next step, input included — a one-step refractory period (pinned in the tests)."""
    import snntorch as snn

    torch.manual_seed(seed)
    return torch.nn.Sequential(
        torch.nn.Linear(6, 10),
        snn.Synaptic(alpha=torch.rand(10) * 0.4 + 0.5, beta=torch.rand(10) * 0.3 + 0.6, threshold=torch.ones(10) * 0.6,
                     init_hidden=True, reset_mechanism=reset, reset_delay=reset_delay),
        torch.nn.Linear(10, 4),
        snn.Leaky(beta=torch.full((4,), 0.85), threshold=torch.full((4,), 0.4), init_hidden=True, reset_mechanism=reset,
                  output=True))


def snntorch_recurrent_net(seed: int = 0, reset_delay: bool = False) -> torch.nn.Module:
    """Linear → RLeaky (all-to-all recurrence, exported as a nested graph) → Linear → Leaky; RLeaky's
    zero reset has Synaptic's timing (see :func:`snntorch_dense_net`)."""
    import snntorch as snn

    torch.manual_seed(seed)
    return torch.nn.Sequential(
        torch.nn.Linear(6, 8),
        snn.RLeaky(beta=torch.full((8,), 0.8), threshold=torch.full((8,), 0.5), linear_features=8, init_hidden=True,
                   reset_mechanism="zero", reset_delay=reset_delay),
        torch.nn.Linear(8, 3),
        snn.Leaky(beta=torch.full((3,), 0.7), threshold=torch.full((3,), 0.3), init_hidden=True, reset_mechanism="zero",
                  output=True))


def spikes(shape: tuple, rate: float, seed: int) -> np.ndarray:
    return (np.random.default_rng(seed).random(shape) < rate).astype(np.float64)
