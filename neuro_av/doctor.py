"""``neuro-av doctor``: library versions plus live checks of every link of the stack.

Each check runs the real component on a tiny problem and compares the result with an independent
expectation (a hand-computed value, a NumPy oracle, a round trip), so "ok" means the link works,
not merely that it imports.
"""
from __future__ import annotations

import tempfile
import time
import traceback
from pathlib import Path
from typing import Callable, NamedTuple

import numpy as np

from neuro_av.versions import library_versions


class CheckResult(NamedTuple):
    name: str
    ok: bool
    detail: str
    seconds: float
    required: bool = True

    def as_dict(self) -> dict:
        return {"name": self.name, "status": "ok" if self.ok else "failed", "detail": self.detail,
                "seconds": round(self.seconds, 3), "required": self.required}


def check_norse_lif() -> str:
    """One Norse LIF step against the hand-computed Euler update."""
    import torch
    from norse.torch.functional.lif import (
        LIFFeedForwardState,
        LIFParameters,
        lif_feed_forward_step,
    )

    p = LIFParameters(tau_syn_inv=torch.tensor(200.0), tau_mem_inv=torch.tensor(100.0),
                      v_th=torch.tensor(0.5))
    state = LIFFeedForwardState(v=torch.tensor([0.0, 0.45]), i=torch.tensor([0.0, 0.0]))
    z, new = lif_feed_forward_step(torch.tensor([10.0, 10.0]), state, p, dt=1e-3)
    # i_jump = 10; v = v + 0.1·(0 − v + 10): 1.0 and 1.405 → both spike and reset to 0; i = 10·(1 − 0.2)
    expected_v = torch.tensor([0.0, 0.0])
    if not (torch.equal(z, torch.tensor([1.0, 1.0])) and torch.allclose(new.v, expected_v)
            and torch.allclose(new.i, torch.tensor([8.0, 8.0]))):
        raise AssertionError(f"unexpected LIF step: z={z.tolist()} v={new.v.tolist()} i={new.i.tolist()}")
    return "z=[1, 1], i=[8, 8] as hand-computed"


def check_nir_roundtrip() -> str:
    """Write a small Input -> Affine -> LIF -> Output graph and read it back unchanged."""
    import nir

    n = 3
    graph = nir.NIRGraph(
        nodes={
            "input": nir.Input(input_type=np.array([2])),
            "affine": nir.Affine(weight=np.arange(6, dtype=np.float32).reshape(n, 2),
                                 bias=np.ones(n, dtype=np.float32)),
            "lif": nir.LIF(tau=np.full(n, 0.01), r=np.ones(n), v_leak=np.zeros(n),
                           v_threshold=np.full(n, 0.5)),
            "output": nir.Output(output_type=np.array([n])),
        },
        edges=[("input", "affine"), ("affine", "lif"), ("lif", "output")],
        metadata={"dt_s": 1e-3},
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "check.nir"
        nir.write(path, graph)
        back = nir.read(path)
    if set(back.nodes) != set(graph.nodes) or sorted(back.edges) != sorted(graph.edges):
        raise AssertionError("nodes or edges changed in the round trip")
    for key in ("weight", "bias"):
        if not np.array_equal(getattr(back.nodes["affine"], key), getattr(graph.nodes["affine"], key)):
            raise AssertionError(f"affine.{key} changed in the round trip")
    if not np.allclose(back.nodes["lif"].tau, 0.01):
        raise AssertionError(f"lif.tau read back as {back.nodes['lif'].tau}")
    return f"{len(back.nodes)} nodes, {len(back.edges)} edges round-tripped"


def _small_plan():
    """A two-layer plan (6 → 8 → 4) with per-neuron decays and a graded input, in Lava float units."""
    from neuro_av.export.lava.plan import LavaPlan, Population, Synapse

    rng = np.random.default_rng(7)

    def pop(name, n, depth):
        return Population(name, n, depth, du=rng.uniform(0.2, 0.5, n), dv=rng.uniform(0.1, 0.3, n),
                          v_bias=np.zeros(n), vth=np.full(n, 0.8), v_reset=np.zeros(n), v_init=np.zeros(n))

    syns = [Synapse("fc0", "in", "l0", rng.normal(0.3, 0.3, (8, 6)), rng.normal(0, 0.05, 8), True),
            Synapse("fc1", "l0", "l1", rng.normal(0.4, 0.3, (4, 8)), np.zeros(4), False)]
    plan = LavaPlan(1e-3, {"in": 6}, {"l0": pop("l0", 8, 1), "l1": pop("l1", 4, 2)}, syns)
    return plan, {"in": rng.uniform(0, 1.5, (3, 24, 6))}


def _lava_check(fixed_point: bool) -> str:
    from neuro_av.export.lava.fixed_point import quantise
    from neuro_av.export.lava.network import run_plan
    from neuro_av.export.lava.oracle import run_fixed_plan
    from neuro_av.export.lava.plan import simulate

    plan, currents = _small_plan()
    if fixed_point:
        plan = quantise(plan, input_peak={"in": 1.5})
        expected = run_fixed_plan(plan, currents)[0].spikes
    else:
        expected = simulate(plan, currents).spikes
    got = run_plan(plan, currents).spikes
    for name, e in expected.items():
        if not np.array_equal(got[name], e):
            raise AssertionError(f"{name}: {int((got[name] != e).sum())} spike bins differ from the NumPy oracle")
    return (f"3 clips in 3 lanes through input->Dense->LIF->Dense->LIF, {sum(int(g.sum()) for g in got.values())} "
            "spikes, equal to the NumPy oracle")


def check_lava_float() -> str:
    return _lava_check(False)


def check_lava_fixed() -> str:
    return _lava_check(True)


def check_onnx() -> str:
    """Export Linear -> ReLU with a dynamic batch, check it, run it in onnxruntime against torch."""
    import onnx
    import onnxruntime as ort
    import torch

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(5, 4), torch.nn.ReLU()).eval()
    x = torch.randn(3, 5)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "check.onnx"
        torch.onnx.export(model, (x,), str(path), input_names=["x"], output_names=["y"],
                          dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}}, dynamo=False)
        onnx.checker.check_model(onnx.load(str(path)))
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        x7 = torch.randn(7, 5)  # another batch size than the export's
        got = session.run(["y"], {"x": x7.numpy()})[0]
    diff = float(np.abs(got - model(x7).detach().numpy()).max())
    if diff > 1e-5:
        raise AssertionError(f"onnxruntime differs from torch by {diff:.3g}")
    return f"max |onnxruntime - torch| = {diff:.2g} at batch 7"


def check_netx_import() -> str:
    from neuro_av.lava_compat import import_netx

    netx = import_netx()
    return f"lava.lib.dl.netx imported ({netx.hdf5.Network.__name__} available)"


CHECKS: dict[str, Callable[[], str]] = {
    "norse_lif_step": check_norse_lif,
    "nir_roundtrip": check_nir_roundtrip,
    "lava_float_run": check_lava_float,
    "lava_fixed_run": check_lava_fixed,
    "lava_netx_import": check_netx_import,
    "onnx_export_run": check_onnx,
}


def run_checks(names: list[str] | None = None) -> list[CheckResult]:
    results = []
    for name in names or list(CHECKS):
        t0 = time.monotonic()
        try:
            detail, ok = CHECKS[name](), True
        except Exception as exc:  # a failing check is reported, never raised
            detail, ok = f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=3)}", False
        results.append(CheckResult(name, ok, detail, time.monotonic() - t0))
    return results


def torch_facts() -> dict:
    import torch

    return {"torch_cuda_build": torch.version.cuda, "cuda_available": torch.cuda.is_available(),
            "cuda_devices": [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]}


def doctor_report() -> dict:
    results = run_checks()
    return {
        "versions": library_versions(),
        "torch": torch_facts(),
        "checks": [r.as_dict() for r in results],
        "ok": all(r.ok for r in results if r.required),
    }
