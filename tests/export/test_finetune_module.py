"""finetune_module: a user's Norse module fine-tuned in fixed point is, once exported, the same network."""
from __future__ import annotations

import norse.torch as snn
import numpy as np
import pytest
import torch

from neuro_av.export.compile import compile_graph
from neuro_av.export.finetune_module import finetune_module, module_fixed_plan
from neuro_av.export.fixed_plan_train import FixedPlanModule
from neuro_av.export.lava.fixed_point import frozen_calibration, quantise_on_input
from neuro_av.export.norse_module import parse, to_nir
from neuro_av.export.torch_fixed import run_fixed_torch

N_IN, N_CLASSES, T = 12, 3, 20


def _net(recurrent: bool = False):
    torch.manual_seed(0)
    middle = snn.LIFRecurrentCell(16, 16) if recurrent else snn.LIFCell()
    layers = [torch.nn.Linear(N_IN, 16), snn.LIFCell()]
    layers += [middle] if recurrent else [torch.nn.Linear(16, 16), middle]
    return snn.SequentialState(*layers, torch.nn.Linear(16, N_CLASSES), snn.LICell())


def _batch(n, seed):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, N_CLASSES, n)
    rates = np.full((n, N_IN), 0.1)
    for i, c in enumerate(y):
        rates[i, c * 4:(c + 1) * 4] = 0.5
    return (rng.random((n, T, N_IN)) < rates[:, None]).astype(np.float32), y


@pytest.mark.parametrize("recurrent", [False, True])
def test_fixed_plan_module_equals_torch_fixed(recurrent):
    net = parse(_net(recurrent))
    plan = compile_graph(to_nir(net), net.dt_s)
    x, _ = _batch(6, 0)
    fixed = quantise_on_input(plan, {"net.input": x})
    ours = FixedPlanModule(plan, frozen_calibration(fixed))
    with torch.no_grad():
        got = ours({"net.input": torch.as_tensor(x, dtype=torch.float64)})
    rec, _ = run_fixed_torch(fixed, {"net.input": x})
    for k, s in rec.spikes.items():
        np.testing.assert_array_equal(got[k].numpy().astype(np.uint8), s, err_msg=k)
    for k, v in rec.voltages.items():
        np.testing.assert_array_equal(got[k].numpy(), v, err_msg=k)


def test_fixed_plan_module_equals_torch_fixed_with_recurrence_between_populations():
    # l1 -> l0 carries the previous step: every population advances one step at a time
    from neuro_av.export.plan import Plan, Population, Synapse

    rng = np.random.default_rng(3)
    sizes = {"l0": 10, "l1": 8, "r": 3}
    pops = {n: Population(n, k, d, np.full(k, 0.3), np.full(k, 0.1), np.zeros(k), np.full(k, 0.5 if n != "r" else np.inf),
                          np.zeros(k), np.zeros(k), spiking=(n != "r"))
            for (n, k), d in zip(sizes.items(), (1, 2, 3))}
    syns = [Synapse("fc0", "in", "l0", rng.normal(0, 0.4, (10, 5)), rng.normal(0, 0.05, 10), True),
            Synapse("back", "l1", "l0", rng.normal(0, 0.3, (10, 8)), np.zeros(10), False, recurrent=True),
            Synapse("fc1", "l0", "l1", rng.normal(0, 0.5, (8, 10)), np.zeros(8), False),
            Synapse("fc2", "l1", "r", rng.normal(0, 0.5, (3, 8)), np.zeros(3), False)]
    plan = Plan(1e-3, {"in": 5}, pops, syns)
    x = rng.uniform(0, 1, (6, 15, 5))
    fixed = quantise_on_input(plan, {"in": x}, search=False)
    ours = FixedPlanModule(plan, frozen_calibration(fixed))
    with torch.no_grad():
        got = ours({"in": torch.as_tensor(x)})
    rec, _ = run_fixed_torch(fixed, {"in": x})
    assert rec.spikes["l0"].any() and rec.spikes["l1"].any()
    for k, s in rec.spikes.items():
        np.testing.assert_array_equal(got[k].numpy().astype(np.uint8), s, err_msg=k)
    for k, v in rec.voltages.items():
        np.testing.assert_array_equal(got[k].numpy(), v, err_msg=k)


@pytest.mark.lava
def test_finetune_module_then_export_gives_lava_fixed_equal_to_the_fine_tuned_network():
    from neuro_av.export.backends import run as run_backends
    from neuro_av.export.plan import static_streams
    from neuro_av.sim.foreign import deployable_module

    module = _net(recurrent=True)
    calib, _ = _batch(16, 1)

    def batches():
        for i in range(4):
            x, y = _batch(16, 100 + i)
            yield x, torch.as_tensor(y)

    def loss_fn(v, y):  # the read-out's last-step voltages as logits
        return torch.nn.functional.cross_entropy(v[:, -1] * 5.0, y)

    result = finetune_module(module, loss_fn, batches, calib, epochs=2, lr=1e-3, log=lambda _: None)
    assert len(result.losses) == 2 and module.neuro_av_fixed_point is result.frozen
    x, _ = _batch(8, 7)
    dep, net, x = deployable_module(module, x)
    assert dep.fixed.report.get("calibration_source", "").startswith("frozen")
    lava = run_backends(["lava-fixed"], dep, static_streams(dep.plan, {"net.input": x}, np.ones(x.shape[:2], bool)))
    with torch.no_grad():  # the network that was trained, as it left the fine-tuning
        own = result.network({"net.input": torch.as_tensor(x, dtype=torch.float64)})
    before = parse(_net(recurrent=True))
    assert not np.array_equal(before.layers[0].weight, parse(module).layers[0].weight)  # it did train
    for k, s in lava["lava-fixed"].spikes.items():
        np.testing.assert_array_equal(own[k].numpy().astype(np.uint8), s, err_msg=k)
    assert module_fixed_plan(module, dep.plan, {"net.input": x}).weights.keys() == dep.fixed.weights.keys()
