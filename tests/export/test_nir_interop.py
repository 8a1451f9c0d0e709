"""neuro-av's NIR files in the other NIR tools its users have: Norse's ``from_nir`` runs each single-chain
file spike for spike like neuro-av's static-threshold reference; where an importer is wrong, a test
pins what it does (README, "Deploying your own Norse model")."""
import warnings
from functools import partial

import nir
import numpy as np
import pytest
import torch
from export_fixtures import small_model
from neuro_av.export.lava.plan import plan_from_nir, simulate
from neuro_av.export.nir_graph import chain_graph, snn_to_nir

snn = pytest.importorskip("norse.torch")


def _chain(seed=3):
    model = small_model("stft", seed)
    with torch.no_grad():
        for layers in model.snn.chains.values():
            for layer in layers:
                layer.bias.uniform_(-0.2, 0.2)
                layer.weight.mul_(3.0)
    graph = snn_to_nir(model.snn, model.cfg.threshold_base, dynamic_threshold=True)
    return chain_graph(graph, "audio.input"), model.snn.lif_params.dt_s


def _static_reference(graph, dt, x):
    plan = plan_from_nir(graph, dt)
    return simulate(plan, {"audio.input": x}, {p.threshold_input: p.vth for p in plan.populations.values()
                                               if p.threshold_input}).spikes


def _run_stepwise(module, x):
    state, outs = None, []
    with torch.no_grad():
        for t in range(x.shape[1]):
            out, state = module(torch.from_numpy(x[:, t]).float(), state)
            outs.append(out)
    return torch.stack(outs, 1).numpy()


def test_norse_from_nir_runs_a_neuro_av_chain_like_the_static_threshold_reference():
    graph, dt = _chain()
    x = np.random.default_rng(0).normal(0, 1, (4, 8, 32))
    ref = _static_reference(graph, dt, x)["audio.lif1"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = _run_stepwise(snn.from_nir(graph, dt=dt), x)
    assert 0 < ref.mean() < 1
    assert (got == ref).mean() > 0.999  # Norse imports in float32; the reference is float64


def test_pin_norse_from_nir_reads_only_the_first_input_of_a_two_chain_graph(caplog):
    """Why neuro-av also writes snn.<chain>.nir: Norse 1.1.0's importer takes the first Input only."""
    model = small_model("stft")
    graph = snn_to_nir(model.snn, model.cfg.threshold_base, dynamic_threshold=True)
    with warnings.catch_warnings(), caplog.at_level("WARNING"):
        warnings.simplefilter("ignore")
        snn.from_nir(graph, dt=1e-3)
    assert "Multiple input nodes found. Using the first node as the input." in caplog.text


def test_pin_norse_from_nir_leaks_the_synaptic_current_and_ignores_v_reset():
    """Norse 1.1.0's CubaLIF import gives the *synapse* the node's v_leak (NIR's current has no leak)
    and resets v to 0 whatever v_reset says: with v_leak or v_reset non-zero it runs another network."""
    n = 6
    rng = np.random.default_rng(1)
    lif = nir.CubaLIF(tau_syn=np.full(n, 5e-3), tau_mem=np.full(n, 1e-2), r=np.ones(n), v_leak=np.full(n, 0.3),
                      v_threshold=np.full(n, 0.5), v_reset=np.full(n, -0.4), w_in=np.full(n, 5.0))
    graph = nir.NIRGraph(nodes={"x": nir.Input(np.array([3])),
                                "fc": nir.Affine(rng.normal(0.5, 0.5, (n, 3)), np.zeros(n)), "lif": lif,
                                "y": nir.Output(np.array([n]))},
                         edges=[("x", "fc"), ("fc", "lif"), ("lif", "y")])
    x = rng.uniform(0, 1, (2, 40, 3))
    ref = simulate(plan_from_nir(graph, 1e-3), {"x": x}).spikes["lif"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = _run_stepwise(snn.from_nir(graph, dt=1e-3), x)
    assert ref.sum() > 0 and not np.array_equal(got, ref)
    assert synapse_leak(snn.from_nir(graph, dt=1e-3)) == pytest.approx(0.3)


def synapse_leak(module) -> float:
    cubalif = next(m for m in module.modules() if type(m).__name__ == "CubaLIF")
    return float(np.mean(cubalif.synapse.p.v_leak.numpy()))


def test_pin_nirtorch_default_affine_map_does_not_load_the_bias():
    """nirtorch 2.6's default Affine mapping sets ``weight.bias`` instead of ``bias``: the Linear keeps
    torch's random initial bias. neuro-av reads its graphs with its own mapping for that reason."""
    nirtorch = pytest.importorskip("nirtorch")
    from norse.torch.utils.import_nir import _import_norse_module

    graph, dt = _chain()
    module = nirtorch.nir_to_torch(graph, node_map={nir.CubaLIF: partial(_import_norse_module, dt=dt)})
    linear = next(m for m in module.modules() if isinstance(m, torch.nn.Linear))
    assert np.array_equal(linear.weight.detach().numpy(), graph.nodes["audio.fc0"].weight)
    assert not np.allclose(linear.bias.detach().numpy(), graph.nodes["audio.fc0"].bias)
