"""A user's own Norse network as a deployable spiking branch: parsed, written to NIR with neuro-av's
mapping, and run through its own forward pass as the reference.

Supported: a ``norse.torch.SequentialState`` or ``torch.nn.Sequential`` (or a single module) of
``torch.nn.Linear`` (with or without bias) and the Norse neurons ``LIFCell`` / ``LIF`` (→ NIR
``CubaLIF``), ``LIFBoxCell`` / ``LIFBox`` (→ ``LIF``), ``LICell`` / ``LI`` (leaky-integrator read-out →
``CubaLI``) and ``LIFRecurrentCell`` / ``LIFRecurrent`` (its input and recurrent weights → ``Linear``
nodes, the recurrent one from the population to itself), with scalar or per-neuron parameters. Cells
are stepped by the caller, the time-looped forms take [T, B, N]; a network uses one kind or the other.

Mapping (Norse's step: ``i' = i + x``; ``v' = v + dt·τ_mem⁻¹·(v_leak − v + i')``; ``i ← i' − dt·τ_syn⁻¹·i'``):
``τ = dt / (dt·τ⁻¹)`` where ``dt·τ⁻¹`` is computed as Norse computes it (in the parameters' own
dtype, float32 unless the user chose otherwise), ``w_in = τ_syn/dt``, ``r = 1``, and node metadata
``v_init = v_leak`` (Norse starts v at v_leak; NIR says nothing about the initial state).

Sharp edges, each listed in the export manifest under ``deviations`` when it applies:
- a neuron fed straight from the input or from another neuron gets an identity Dense (exact);
- a ``Linear`` right before a ``LIFRecurrentCell`` is folded into the cell's input weights
  (W_in·(W x + b)): equal in exact arithmetic, not bit for bit;
- ``reset_subtract`` (LIFBox) has no NIR or Lava form: exported as a reset to ``v_reset``, which
  changes the network; the measured agreement says by how much.
"""
from __future__ import annotations

import copy
import importlib.util
import sys
from dataclasses import dataclass, field
from pathlib import Path

import nir
import numpy as np
import torch
from neuro_av.export.lava.plan import Record

from neuro_av import naming
from neuro_av.data.paths import path_problem
from neuro_av.errors import ExportError

CHAIN = "net"


class NorseModuleError(ExportError):
    """A module neuro-av cannot deploy; the message names the module and its type."""


def _norse():
    import norse.torch as snn

    return snn


def neuron_types() -> dict[type, tuple[str, bool]]:
    """Norse class -> (kind, time-looped); ``LIFBox`` only where the installed Norse has it (1.1.0 has
    ``LIFBoxCell`` alone)."""
    snn = _norse()
    names = {"LIFCell": ("lif", False), "LIF": ("lif", True), "LIFBoxCell": ("lif_box", False),
             "LIFBox": ("lif_box", True), "LICell": ("li", False), "LI": ("li", True),
             "LIFRecurrentCell": ("lif_recurrent", False), "LIFRecurrent": ("lif_recurrent", True)}
    return {getattr(snn, n): kind for n, kind in names.items() if hasattr(snn, n)}


def load_user_module(spec: str) -> torch.nn.Module:
    """``FILE.py:NAME``: a ``torch.nn.Module`` in FILE, or a zero-argument callable returning one."""
    if ":" not in spec:
        raise NorseModuleError(f"--module {spec!r}: expected FILE.py:NAME (NAME a module or a function returning one)")
    file, name = spec.rsplit(":", 1)
    path = Path(file)
    problem = path_problem(path)
    if problem:
        raise NorseModuleError(f"--module {spec}: {path} {'does not exist' if problem == 'is missing' else problem}")
    mod_name = f"neuro_av_user_{abs(hash(str(path.resolve())))}"
    loader = importlib.util.spec_from_file_location(mod_name, path)
    user = importlib.util.module_from_spec(loader)
    sys.modules[mod_name] = user
    loader.loader.exec_module(user)  # the user's file: its own errors keep their traceback
    if not hasattr(user, name):
        found = sorted(k for k, v in vars(user).items() if isinstance(v, torch.nn.Module) or
                       (callable(v) and not isinstance(v, type) and not k.startswith("_")))
        raise NorseModuleError(f"--module {spec}: {path} defines no {name!r} (modules and functions there: "
                               f"{', '.join(found) or 'none'})")
    obj = getattr(user, name)
    if not isinstance(obj, torch.nn.Module) and callable(obj):
        obj = obj()
    if not isinstance(obj, torch.nn.Module):
        raise NorseModuleError(f"--module {spec}: {name} is a {type(obj).__name__}, not a torch.nn.Module or a "
                               "function returning one")
    return obj.eval()


@dataclass
class NeuronLayer:
    path: str  # the module's name in the network ("3")
    kind: str  # lif, lif_box, li, lif_recurrent
    module: torch.nn.Module
    weight: np.ndarray  # (N, N_in) the Dense feeding it
    bias: np.ndarray | None
    recurrent: np.ndarray | None = None  # (N, N) for lif_recurrent


@dataclass
class NorseNetwork:
    module: torch.nn.Module
    layers: list[NeuronLayer]
    dt_s: float
    time_looped: bool
    input_width: int
    deviations: list[str] = field(default_factory=list)

    def layer_name(self, i: int) -> str:
        return naming.neuron_node(CHAIN, i)

    @property
    def input_name(self) -> str:
        return naming.input_node(CHAIN)


def _children(module: torch.nn.Module) -> list[tuple[str, torch.nn.Module]]:
    if isinstance(module, (torch.nn.Sequential, _norse().SequentialState)):
        return list(module.named_children())
    return [(type(module).__name__, module)]


def parse(module: torch.nn.Module, dt_s: float | None = None) -> NorseNetwork:
    """The network's layers, or a clear error naming the first module neuro-av cannot deploy."""
    kinds = neuron_types()
    layers, pending, deviations, dts, looped = [], None, [], set(), set()
    width = None
    for path, child in _children(module):
        if isinstance(child, torch.nn.Linear):
            w = child.weight.detach().double().numpy()
            b = None if child.bias is None else child.bias.detach().double().numpy()
            if pending is not None:
                raise NorseModuleError(f"module {path!r} (torch.nn.Linear) follows another Linear; fold them into one")
            if layers and layers[-1].kind == "li":
                raise NorseModuleError(f"module {path!r} follows a leaky-integrator read-out: the read-out must be last")
            width = width if width is not None else child.in_features
            pending = (w, b)
            continue
        if type(child) not in kinds:
            raise NorseModuleError(f"module {path!r} ({type(child).__module__}.{type(child).__name__}) is not "
                                   "supported; neuro-av deploys Sequential / SequentialState chains of torch.nn.Linear, "
                                   "LIFCell, LIFBoxCell, LICell, LIFRecurrentCell and their time-looped forms")
        kind, is_looped = kinds[type(child)]
        looped.add(is_looped)
        dts.add(float(child.dt))
        if layers and layers[-1].kind == "li":
            raise NorseModuleError(f"module {path!r} follows a leaky-integrator read-out: the read-out must be last")
        n_prev = layers[-1].weight.shape[0] if layers else width
        if kind == "lif_recurrent":
            w_in = child.input_weights.detach().double().numpy()
            rec = child.recurrent_weights.detach().double().numpy()
            if pending is not None:
                w, b = pending
                deviations.append(f"module {path!r}: the Linear before it is folded into its input weights "
                                  "(W_in·(W·x + b)), equal in exact arithmetic, not bit for bit")
                pending = (w_in @ w, None if b is None else w_in @ b)
            else:
                pending = (w_in, None)
            width = width if width is not None else int(child.input_size)
            layers.append(NeuronLayer(path, kind, child, *pending, recurrent=rec))
        else:
            if pending is None:  # fed straight from the input or from the neurons before: an identity Dense
                if n_prev is None:
                    raise NorseModuleError(f"module {path!r} ({type(child).__name__}) is first: its width is unknown; "
                                           "put a torch.nn.Linear before it")
                pending = (np.eye(n_prev), None)
                deviations.append(f"module {path!r}: fed without a Linear, so an identity Dense is inserted (exact)")
            if kind == "lif_box" and getattr(child.p, "reset_method", None) is not None and \
                    getattr(child.p.reset_method, "__name__", "") != "reset_value":
                deviations.append(f"module {path!r}: reset method {child.p.reset_method.__name__} has no NIR or Lava "
                                  "form; exported as a reset to v_reset (the agreement measures the difference)")
            layers.append(NeuronLayer(path, kind, child, *pending))
        width = width if width is not None else layers[-1].weight.shape[1]
        pending = None
    if pending is not None:
        raise NorseModuleError("the network ends with a torch.nn.Linear; end it with a neuron layer (LIFCell, ..., "
                               "or a LICell read-out)")
    if not layers:
        raise NorseModuleError(f"{type(module).__name__} holds no Norse neuron layer to deploy")
    if len(looped) > 1:
        raise NorseModuleError("the network mixes cells (LIFCell, ...) with time-looped modules (LIF, ...); use one kind")
    if len(dts) > 1 and dt_s is None:
        raise NorseModuleError(f"the cells use different time steps {sorted(dts)}; pass --dt")
    dt = float(dt_s) if dt_s is not None else dts.pop()
    if not np.isfinite(dt) or dt <= 0:
        raise NorseModuleError(f"dt must be a positive number of seconds, got {dt}")
    if dt_s is not None and any(abs(d - dt) > 1e-15 for d in dts):
        deviations.append(f"--dt {dt} replaces the cells' own dt {sorted(dts)} (in the reference run too)")
    return NorseNetwork(module, layers, dt, looped.pop(), int(width), deviations)


def _coefficient(dt: float, inv) -> np.ndarray:
    """``dt·τ⁻¹`` as Norse's step computes it (a Python float times the parameter tensor)."""
    return np.asarray((dt * torch.as_tensor(inv)).detach().double().numpy(), np.float64)


def _vec(value, n: int) -> np.ndarray:
    return np.broadcast_to(np.asarray(torch.as_tensor(value).detach().double().numpy(), np.float64), (n,)).copy()


def to_nir(net: NorseNetwork) -> nir.NIRGraph:
    """The network as a NIR graph (float64 parameters, per-neuron arrays), neuro-av's names."""
    nodes = {net.input_name: nir.Input(input_type=np.array([net.input_width]))}
    edges, prev = [], net.input_name
    for i, layer in enumerate(net.layers):
        n = layer.weight.shape[0]
        p, dt = layer.module.p, net.dt_s
        fc, lif = naming.synapse_node(CHAIN, i), naming.neuron_node(CHAIN, i)
        nodes[fc] = nir.Linear(weight=layer.weight) if layer.bias is None else nir.Affine(weight=layer.weight,
                                                                                         bias=layer.bias)
        alpha = _vec(_coefficient(dt, p.tau_mem_inv), n)
        meta = {"v_init": _vec(p.v_leak, n), "norse_module": f"{layer.path} ({type(layer.module).__name__})"}
        common = {"r": np.ones(n), "v_leak": _vec(p.v_leak, n)}
        if layer.kind in ("lif", "lif_recurrent", "li"):
            beta = _vec(_coefficient(dt, p.tau_syn_inv), n)
            common.update(tau_syn=dt / beta, tau_mem=dt / alpha, w_in=1.0 / beta)
        else:
            common.update(tau=dt / alpha)
        if layer.kind == "li":
            nodes[lif] = nir.CubaLI(**common, metadata=meta)
        elif layer.kind == "lif_box":
            nodes[lif] = nir.LIF(**common, v_threshold=_vec(p.v_th, n), v_reset=_vec(p.v_reset, n), metadata=meta)
        else:
            nodes[lif] = nir.CubaLIF(**common, v_threshold=_vec(p.v_th, n), v_reset=_vec(p.v_reset, n), metadata=meta)
        edges += [(prev, fc), (fc, lif)]
        if layer.recurrent is not None:
            rec = f"{CHAIN}.rec{i}"
            nodes[rec] = nir.Linear(weight=layer.recurrent)
            edges += [(lif, rec), (rec, lif)]
        prev = lif
    nodes[naming.output_node(CHAIN)] = nir.Output(output_type=np.array([net.layers[-1].weight.shape[0]]))
    edges.append((prev, naming.output_node(CHAIN)))
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata={
        "dt_s": net.dt_s, "reset": "zero", "producer": "neuro-av (from a Norse module)",
        "neuron_model": "norse lif_feed_forward_step / lif_step / lif_box / li steps (current jump, then Euler)"})


def _step_all(module: torch.nn.Module, x: torch.Tensor, state):
    """One call of the network: its own forward for SequentialState or a single module; for a plain
    ``nn.Sequential``, its children in order with each stateful child's state carried."""
    snn = _norse()
    if isinstance(module, snn.SequentialState):
        return module(x, state)
    if isinstance(module, torch.nn.Sequential):
        states = list(state) if state is not None else [None] * len(module)
        h = x
        for i, child in enumerate(module):
            if isinstance(child, torch.nn.Linear):
                h = child(h)
            else:
                h, states[i] = child(h, states[i])
        return h, states
    return module(x, state)


def reference(net: NorseNetwork, x: np.ndarray) -> Record:
    """Every layer's spikes (read-outs: voltages), (B, T, N), from the module's own forward pass in
    float64 (a copy; parameters the module does not register keep their dtype, as Norse uses them)."""
    module = copy.deepcopy(net.module).double().eval()
    paths = {layer.path: net.layer_name(i) for i, layer in enumerate(net.layers)}
    seen: dict[str, list[torch.Tensor]] = {name: [] for name in paths.values()}
    named = dict(module.named_children()) if paths and next(iter(paths)) in dict(module.named_children()) else \
        {type(module).__name__: module}
    hooks = []
    for path, name in paths.items():
        target = named[path]
        target.dt = net.dt_s
        hooks.append(target.register_forward_hook(lambda m, inp, out, name=name: seen[name].append(out[0].detach())))
    xt = torch.from_numpy(np.asarray(x, np.float64))
    try:
        with torch.no_grad():
            if net.time_looped:
                _step_all(module, xt.transpose(0, 1), None)
                per = {k: v[0].transpose(0, 1) for k, v in seen.items()}
            else:
                state = None
                for t in range(xt.shape[1]):
                    _, state = _step_all(module, xt[:, t], state)
                per = {k: torch.stack(v, dim=1) for k, v in seen.items()}
    finally:
        for h in hooks:
            h.remove()
    kinds = {net.layer_name(i): layer.kind for i, layer in enumerate(net.layers)}
    return Record({k: v.numpy().astype(np.uint8) for k, v in per.items() if kinds[k] != "li"},
                  {k: v.numpy().astype(np.float64) for k, v in per.items() if kinds[k] == "li"})
