"""A NIR graph as a Lava network plan: neuron populations and Dense synapses in Lava's float units.

Mapping, per neuron (β = dt/τ_syn, α = dt/τ_mem; NIR semantics of :mod:`neuro_av.export.nir_semantics`)::

    CubaLIF / CubaLI: Dense(α·r·β·w_in · W), du = β, dv = α, bias = α·v_leak
    LIF / LI:         Dense(α·r · W),        du = 1, dv = α, bias = α·v_leak     (no synaptic current)
    IF:               Dense(r · W),          du = 1, dv = 0

so that Lava's ``u`` is α·r·I and its ``v`` is the NIR node's v. Every parameter is a per-neuron
vector (NIR allows it, and snnTorch and Norse write per-neuron τ after learning it); a spike resets
v to the node's ``v_reset`` (0 when the node has none). LI and CubaLI nodes never spike: their
voltage is the read-out. An Affine bias goes to the *current* (Norse adds b to i; Lava's LIF bias
goes to v): it becomes a bias column of the Dense, on during a clip's valid steps.

**Initial state.** u = 0 and v = ``v_init`` at the start of every clip: 0 unless the node's metadata
says otherwise (neuro-av writes ``v_init`` for a Norse cell, which starts at v_leak).

**Depth and delays.** Each Dense delays by one step, so a population ``depth`` Dense hops from the
input computes, at Lava step t + depth, what the reference computes at step t. A synapse from a
population of the same depth (a recurrent edge such as the braille RNN's ``w_rec``) then carries
spikes of step t − 1, exactly the reference's recurrence; any other depth difference would change
the timing, so it is refused.

The float plan and the fixed-point plan (:class:`neuro_av.export.lava.fixed_point.FixedPlan`) offer
the same interface to the Lava builder: the structure (``inputs``, ``populations``, ``synapses``,
``depth``, ``incoming``), and per backend ``encode_input``, ``encode_threshold``, ``neuron``,
``synapse``, ``decode_voltage``, ``run_tag`` and ``silent``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import nir
import numpy as np

from neuro_av.errors import ExportError

SPIKING_NODES = (nir.CubaLIF, nir.LIF, nir.IF)
READOUT_NODES = (nir.CubaLI, nir.LI)
NEURON_NODES = SPIKING_NODES + READOUT_NODES
SYNAPSE_NODES = (nir.Affine, nir.Linear)
SILENT_FLOAT = float("inf")  # a threshold no voltage exceeds


@dataclass
class Population:
    name: str
    size: int
    depth: int  # Dense hops from the input (1: fed by an input)
    du: np.ndarray  # (N,) current decay per step
    dv: np.ndarray  # (N,) voltage decay per step
    v_bias: np.ndarray  # (N,) added to v every step
    vth: np.ndarray  # (N,) static threshold (the base θ_0 for a streamed one; inf for a read-out)
    v_reset: np.ndarray  # (N,) v after a spike
    v_init: np.ndarray  # (N,) v at the start of a clip
    threshold_input: str | None = None  # name of the per-step threshold stream, if any
    spiking: bool = True  # False: a leaky integrator whose voltage is the read-out
    node_type: str = "CubaLIF"


@dataclass
class Synapse:
    name: str
    src: str  # an input or a population
    dst: str  # a population
    weight: np.ndarray  # (N_dst, N_src), gain folded in
    bias: np.ndarray  # (N_dst,), gain folded in
    graded: bool  # carries graded values (src is an input)


class Record(NamedTuple):
    """What a backend returns: spikes (B, T, N) of spiking populations and voltages (B, T, N) of the
    read-out ones, in the reference time alignment."""

    spikes: dict[str, np.ndarray]
    voltages: dict[str, np.ndarray]


@dataclass
class LavaPlan:
    dt_s: float
    inputs: dict[str, int]  # input node -> width
    populations: dict[str, Population]
    synapses: list[Synapse] = field(default_factory=list)

    run_tag = "floating_pt"
    silent = SILENT_FLOAT

    @property
    def depth(self) -> int:
        return max(p.depth for p in self.populations.values())

    def incoming(self, pop: str) -> list[Synapse]:
        return [s for s in self.synapses if s.dst == pop]

    # -- what the Lava builder asks of a plan (float: values as they are) --------------------
    def encode_input(self, name: str, x: np.ndarray) -> np.ndarray:
        return np.asarray(x, np.float64)

    def encode_threshold(self, pop: str, theta: np.ndarray) -> np.ndarray:
        return np.asarray(theta, np.float64)

    def neuron(self, pop: str) -> dict:
        p = self.populations[pop]
        return {"du": p.du, "dv": p.dv, "vth": p.vth, "bias_mant": p.v_bias, "bias_exp": np.zeros(p.size),
                "v_reset": p.v_reset, "v_init": p.v_init}

    def synapse(self, syn: Synapse) -> dict:
        return {"weights": syn.weight, "weight_exp": 0, "bias": syn.bias, "bias_exp": 0}

    def decode_voltage(self, pop: str, v: np.ndarray) -> np.ndarray:
        return np.asarray(v, np.float64)


def _vec(values, n: int | None = None) -> np.ndarray:
    a = np.asarray(values, np.float64).ravel()
    return a if n is None or a.size == n else np.broadcast_to(a, (n,)).copy()


def _size(name: str, node) -> int:
    """The node's neuron count: every per-neuron parameter has N values or one (broadcast)."""
    sizes = {k: np.asarray(v).size for k, v in vars(node).items()
             if isinstance(v, (np.ndarray, float, int)) and k not in ("metadata",)}
    n = max(sizes.values())
    bad = {k: s for k, s in sizes.items() if s not in (1, n)}
    if bad:
        raise ExportError(f"NIR node {name}: parameters {bad} have neither 1 nor {n} values")
    return n


def _neuron(name: str, node, dt_s: float) -> dict:
    """Gain (N,) of the incoming weights and the population's parameters, from one NIR neuron node."""
    n = _size(name, node)
    if isinstance(node, (nir.CubaLIF, nir.CubaLI)):
        alpha, beta = dt_s / _vec(node.tau_mem, n), dt_s / _vec(node.tau_syn, n)
        out = {"gain": alpha * _vec(node.r, n) * beta * _vec(node.w_in, n), "du": beta, "dv": alpha,
               "v_bias": alpha * _vec(node.v_leak, n)}
    elif isinstance(node, (nir.LIF, nir.LI)):
        alpha = dt_s / _vec(node.tau, n)
        out = {"gain": alpha * _vec(node.r, n), "du": np.ones(n), "dv": alpha, "v_bias": alpha * _vec(node.v_leak, n)}
    else:  # nir.IF: v ← v + r·x
        out = {"gain": _vec(node.r, n), "du": np.ones(n), "dv": np.zeros(n), "v_bias": np.zeros(n)}
    spiking = isinstance(node, SPIKING_NODES)
    out["vth"] = _vec(node.v_threshold, n) if spiking else np.full(n, SILENT_FLOAT)
    reset = getattr(node, "v_reset", None)
    out["v_reset"] = np.zeros(n) if reset is None else _vec(reset, n)
    meta = node.metadata or {}
    out["v_init"] = _vec(meta["v_init"], n) if "v_init" in meta else np.zeros(n)
    for key in ("du", "dv"):
        if np.any(out[key] < 0) or np.any(out[key] > 1):
            raise ExportError(f"NIR node {name}: dt/τ must lie in [0, 1] for a forward-Euler step, got "
                              f"{key} from {out[key].min():.4g} to {out[key].max():.4g}; check dt ({dt_s} s)")
    return {**out, "spiking": spiking, "size": n}


def plan_from_nir(graph: nir.NIRGraph, dt_s: float) -> LavaPlan:
    """The Lava plan of a graph of Input/Output/Affine/Linear/LIF/CubaLIF/IF/LI/CubaLI nodes."""
    nodes = graph.nodes
    pred: dict[str, list[str]] = {}
    succ: dict[str, list[str]] = {}
    for a, b in graph.edges:
        succ.setdefault(a, []).append(b)
        pred.setdefault(b, []).append(a)
    inputs = {k: int(np.prod(np.asarray(n.input_type["input"]))) for k, n in nodes.items() if isinstance(n, nir.Input)}
    for name, node in nodes.items():
        if isinstance(node, NEURON_NODES):
            for p in pred.get(name, []):
                if not isinstance(nodes[p], SYNAPSE_NODES):
                    raise ExportError(f"NIR node {name} is fed by {p} without an Affine/Linear in between; "
                                      "Lava needs a Dense there")
    syns = []
    for name, node in nodes.items():
        if not isinstance(node, SYNAPSE_NODES):
            continue
        srcs, dsts = pred.get(name, []), succ.get(name, [])
        if len(srcs) != 1 or len(dsts) != 1 or not isinstance(nodes[dsts[0]], NEURON_NODES):
            raise ExportError(f"NIR node {name}: an Affine/Linear must have one source and feed one "
                              f"neuron node (has sources {srcs}, targets {dsts})")
        if not isinstance(nodes[srcs[0]], (nir.Input, *SPIKING_NODES)):
            raise ExportError(f"NIR node {name} is fed by {srcs[0]} ({type(nodes[srcs[0]]).__name__}); only an "
                              "Input or a spiking node can feed a Dense (no two Dense in a row, no read-out)")
        w = np.asarray(node.weight, np.float64)
        b = np.asarray(node.bias, np.float64) if isinstance(node, nir.Affine) else np.zeros(w.shape[0])
        syns.append(Synapse(name, srcs[0], dsts[0], w, b, isinstance(nodes[srcs[0]], nir.Input)))
    pops = {}
    for name, node in nodes.items():
        if not isinstance(node, NEURON_NODES):
            continue
        p = _neuron(name, node, dt_s)
        meta = node.metadata or {}
        pops[name] = Population(name, p["size"], 0, p["du"], p["dv"], p["v_bias"], p["vth"], p["v_reset"],
                                p["v_init"], meta.get("threshold_input"), p["spiking"], type(node).__name__)
        for s in syns:
            if s.dst == name:
                if s.weight.shape[0] != p["size"]:
                    raise ExportError(f"NIR node {s.name} has {s.weight.shape[0]} outputs but feeds {name} of "
                                      f"{p['size']} neurons")
                s.weight, s.bias = p["gain"][:, None] * s.weight, p["gain"] * s.bias
    if not pops:
        raise ExportError("the NIR graph has no neuron node (LIF/CubaLIF/IF/LI/CubaLI) to run")
    _assign_depths(pops, syns, inputs)
    return LavaPlan(dt_s, inputs, pops, syns)


def _assign_depths(pops: dict[str, Population], syns: list[Synapse], inputs: dict[str, int]) -> None:
    depth = {k: 0 for k in inputs}
    changed = True
    while changed:  # shortest Dense-hop distance from any input
        changed = False
        for s in syns:
            if s.src in depth and depth[s.src] + 1 < depth.get(s.dst, 1 << 30):
                depth[s.dst] = depth[s.src] + 1
                changed = True
    for name, pop in pops.items():
        if name not in depth:
            raise ExportError(f"NIR node {name} is not reachable from any Input node")
        pop.depth = depth[name]
    for s in syns:
        d_src, d_dst = depth[s.src], depth[s.dst]
        if d_src not in (d_dst - 1, d_dst):
            raise ExportError(f"NIR edge {s.src} → {s.name} → {s.dst} skips or goes back across layers "
                              f"(depth {d_src} → {d_dst}); Lava's one-step Dense delay would change its timing")


def _accumulate(syn: Synapse, values: np.ndarray, on: np.ndarray) -> np.ndarray:
    """(B, N_dst): what a Dense and its bias column deliver, computed as Lava's float models do it,
    clip by clip (``W·x`` for graded values, the sum of the spiking inputs' columns for spikes), so
    the sums are bit for bit Lava's."""
    if syn.graded:
        acc = [syn.weight.dot(x) for x in values]
    else:
        acc = [syn.weight[:, s.astype(bool)].sum(axis=1) for s in values]
    return np.stack([a + syn.bias if o else a for a, o in zip(acc, on)])


def simulate(plan: LavaPlan, currents: dict[str, np.ndarray], thresholds: dict[str, np.ndarray] | None = None,
             mask: np.ndarray | None = None) -> Record:
    """The plan in NumPy, float64, in the reference time alignment: feed-forward synapses carry this
    step's spikes, same-depth (recurrent) ones the previous step's. ``currents``: input -> (B, T, N_in);
    ``thresholds``: stream -> broadcastable to (B, T, N); ``mask`` (B, T): the synaptic input (bias
    included) is off on padded steps, as in Lava (Norse zeroes it there too). Every operation is the
    one Lava's float models perform, in their order, so Lava float must equal this bit for bit."""
    thresholds = thresholds or {}
    first = np.asarray(next(iter(currents.values())))
    batch, steps = first.shape[:2]
    valid = np.ones((batch, steps), bool) if mask is None else np.asarray(mask, bool)
    order = sorted(plan.populations.values(), key=lambda p: p.depth)
    u = {p.name: np.zeros((batch, p.size)) for p in order}
    v = {p.name: np.broadcast_to(p.v_init, (batch, p.size)).copy() for p in order}
    out = {p.name: np.zeros((batch, steps, p.size)) for p in order}
    volts = {p.name: np.zeros((batch, steps, p.size)) for p in order if not p.spiking}
    theta = {p.name: np.broadcast_to(np.asarray(thresholds[p.threshold_input] if p.threshold_input else p.vth,
                                                np.float64), (batch, steps, p.size)) for p in order}
    for t in range(steps):
        for p in order:
            x = np.zeros((batch, p.size))
            for s in plan.incoming(p.name):
                if s.src in plan.inputs:
                    values = np.asarray(currents[s.src][:, t], np.float64) * valid[:, t, None]
                elif plan.populations[s.src].depth < p.depth:
                    values = out[s.src][:, t]
                else:  # recurrent: the previous step's spikes (none before the first step)
                    values = out[s.src][:, t - 1] if t > 0 else np.zeros((batch, plan.populations[s.src].size))
                x = x + _accumulate(s, values, valid[:, t])
            u[p.name] = u[p.name] * (1 - p.du) + x
            v[p.name] = v[p.name] * (1 - p.dv) + u[p.name] + p.v_bias
            spk = v[p.name] > np.where(valid[:, t, None], theta[p.name][:, t], SILENT_FLOAT)
            out[p.name][:, t] = spk
            v[p.name] = np.where(spk, p.v_reset, v[p.name])
            if not p.spiking:
                volts[p.name][:, t] = v[p.name]
    return Record({k: o for k, o in out.items() if plan.populations[k].spiking}, volts)
