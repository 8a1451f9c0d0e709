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


def finetuned() -> torch.nn.Module:
    """The network fine-tuned in fixed point (``--module ...:finetuned``): its weights and the frozen
    calibration it was fine-tuned with, which export and sim then use."""
    net = build()
    net.load_state_dict(torch.load(OUT / "weights_finetuned.pt", weights_only=True))
    net.neuro_av_fixed_point = json.loads((OUT / "fixed_point.json").read_text())
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
    ap.add_argument("--finetune-epochs", type=int, default=3, help="fixed-point fine-tuning epochs (default 3)")
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
        priced = next(iter(b["energy"]["neuromorphic"].values()))  # the first profile with published energies
        print(f"  {name:<11} spike agreement with Norse {b['spike_agreement_vs_reference']:.2%}, "
              f"{b['totals']['spikes']:,.1f} spikes/clip, {priced['total'] * 1e9:.1f} nJ/clip ({priced['title']}), "
              f"read-out max |Δv| {r['max_abs_diff']:.3g}, arg-max as Norse's on {r['argmax_agreement']:.1%} of steps")
    finetune_and_compare(net, x, y, args.finetune_epochs)
    return 0


def deployed_accuracy(net: torch.nn.Module, x: np.ndarray, y: np.ndarray) -> float:
    """Task accuracy of the network as Lava's bit-accurate fixed point runs it (arg-max read-out)."""
    from neuro_av.export.backends import run
    from neuro_av.export.plan import static_streams
    from neuro_av.sim.foreign import deployable_module

    dep, _, x = deployable_module(net, x)
    rec = run(["lava-fixed"], dep, static_streams(dep.plan, {"net.input": x}, np.ones(x.shape[:2], bool)))["lava-fixed"]
    return float((rec.voltages["net.lif2"][:, -1].argmax(1) == y).mean())


def finetune_and_compare(net: torch.nn.Module, x: np.ndarray, y: np.ndarray, epochs: int) -> None:
    """Fine-tune the trained network through the fixed-point arithmetic and compare, deployed."""
    import copy

    from neuro_av.export.finetune_module import finetune_module

    before = deployed_accuracy(net, x, y)
    rng = np.random.default_rng(2)
    calibration, _ = toy_batch(64, rng)

    def batches():
        for _ in range(20):
            xb, yb = toy_batch(64, rng)
            yield xb, torch.from_numpy(yb)

    def loss_fn(v, target):  # the read-out voltages at the last step, as in training
        return torch.nn.functional.cross_entropy(v[:, -1] * 5.0, target)

    tuned = copy.deepcopy(net)
    result = finetune_module(tuned, loss_fn, batches, calibration, epochs=epochs, lr=5e-4)
    torch.save(tuned.state_dict(), OUT / "weights_finetuned.pt")
    (OUT / "fixed_point.json").write_text(json.dumps(result.frozen))
    after = deployed_accuracy(tuned, x, y)
    print(f"\ndeployed (lava-fixed) on the same {len(y)} clips: {100 * before:.1f} % as trained in float, "
          f"{100 * after:.1f} % after {epochs} epoch(s) of fixed-point fine-tuning ({result.seconds:.0f} s); "
          f"`--module {Path(__file__).resolve()}:finetuned` exports the fine-tuned network")


if __name__ == "__main__":
    sys.exit(main())
