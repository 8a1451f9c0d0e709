"""Deploy your own Norse network: train a small one for about a minute, export it and co-simulate it.

    [YOUR_NORSE_MODEL_OUT=runs/your_norse_model] .venv/bin/python examples/your_norse_model.py [--seconds 60]

The network is written as Norse's documentation writes one — Linear → LIFCell → Linear → LIFCell →
Linear → LICell (a leaky-integrator read-out) — and learns a toy task: which of 3 input channels
groups fires fastest over 40 steps of 1 ms, read out as the arg-max of the read-out voltages at the
last step. The script then runs the two commands a user would type::

    neuro-av export --module examples/your_norse_model.py:trained --input OUT/x.npy --target all --out OUT/export
    neuro-av sim --module examples/your_norse_model.py:trained --input OUT/x.npy --backend all --out OUT/sim

(``trained`` rebuilds the network and loads the weights this script saved) and prints, per backend,
the spike agreement with the module's own forward pass, the task accuracy of the deployed network,
spikes and energy per clip. Lava float equals the Norse forward pass spike for spike; Lava fixed point
is measured. The figures of a run are in README, "Deploying your own Norse model".
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import norse.torch as snn
import numpy as np
import torch

N_IN, N_HIDDEN, N_CLASSES, STEPS = 24, 48, 3, 40
OUT = Path(os.environ.get("YOUR_NORSE_MODEL_OUT", "runs/your_norse_model"))


def build() -> torch.nn.Module:
    torch.manual_seed(0)
    return snn.SequentialState(
        torch.nn.Linear(N_IN, N_HIDDEN), snn.LIFCell(),
        torch.nn.Linear(N_HIDDEN, N_HIDDEN), snn.LIFCell(),
        torch.nn.Linear(N_HIDDEN, N_CLASSES), snn.LICell(),
    )


def trained() -> torch.nn.Module:
    """The network with the weights :func:`main` saved (what ``--module ...:trained`` loads)."""
    net = build()
    net.load_state_dict(torch.load(OUT / "weights.pt", weights_only=True))
    return net.eval()


def toy_batch(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Poisson spikes [n, T, N_IN]: the class's 8 channels fire at 40 %, the others at 10 %."""
    labels = rng.integers(0, N_CLASSES, n)
    rates = np.full((n, N_IN), 0.1)
    for i, c in enumerate(labels):
        rates[i, c * 8:(c + 1) * 8] = 0.4
    return (rng.random((n, STEPS, N_IN)) < rates[:, None, :]).astype(np.float32), labels


def readout(net: torch.nn.Module, x: np.ndarray) -> torch.Tensor:
    state, v = None, None
    for t in range(x.shape[1]):
        v, state = net(torch.from_numpy(x[:, t]), state)
    return v  # (B, classes): the read-out voltages at the last step


def train(seconds: float) -> torch.nn.Module:
    net = build()
    opt = torch.optim.Adam(net.parameters(), lr=2e-3)
    rng = np.random.default_rng(0)
    t0, step = time.monotonic(), 0
    while time.monotonic() - t0 < seconds:
        x, y = toy_batch(64, rng)
        loss = torch.nn.functional.cross_entropy(readout(net, x) * 5.0, torch.from_numpy(y))
        opt.zero_grad()
        loss.backward()
        opt.step()
        step += 1
        if step % 20 == 0:
            print(f"step {step}: loss {loss.item():.3f}", flush=True)
    return net.eval()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=60.0, help="training time (default 60 s)")
    args = ap.parse_args()
    from neuro_av.cli.main import main as neuro_av

    OUT.mkdir(parents=True, exist_ok=True)
    net = train(args.seconds)
    torch.save(net.state_dict(), OUT / "weights.pt")
    x, y = toy_batch(32, np.random.default_rng(1))
    np.save(OUT / "x.npy", x)
    with torch.no_grad():
        norse_acc = float((readout(net, x).argmax(1).numpy() == y).mean())
    spec = f"{Path(__file__).resolve()}:trained"
    os.environ["YOUR_NORSE_MODEL_OUT"] = str(OUT.resolve())  # where ``trained`` finds the weights
    assert neuro_av(["export", "--module", spec, "--input", str(OUT / "x.npy"), "--target", "all",
                     "--out", str(OUT / "export")]) == 0
    assert neuro_av(["sim", "--module", spec, "--input", str(OUT / "x.npy"), "--backend", "all",
                     "--out", str(OUT / "sim")]) == 0
    report = json.loads((OUT / "sim" / "report.json").read_text())
    print(f"\ntoy task on {len(y)} clips: Norse forward accuracy {100 * norse_acc:.1f} % (chance 33.3 %)")
    for name, b in report["backends"].items():
        r = b["readout_vs_reference"]["net.lif2"]
        print(f"  {name:<11} spike agreement with Norse {b['spike_agreement_vs_reference']:.2%}, "
              f"{b['totals']['spikes']:,.1f} spikes/clip, {b['energy_j'] * 1e9:.1f} nJ/clip (Loihi 1 table), "
              f"read-out max |Δv| {r['max_abs_diff']:.3g}, arg-max as Norse's on {r['argmax_agreement']:.1%} of steps")
    return 0


if __name__ == "__main__":
    sys.exit(main())
