"""A NIR graph as a Lava network plan: neuron populations and Dense synapses in Lava's float units.

Mapping (β = dt/τ_syn, α = dt/τ_mem per neuron; NIR semantics of :mod:`neuro_av.export.nir_reference`)::

    CubaLIF: Dense(α·r·β·w_in · W), du = β, dv = α, bias = α·v_leak
    LIF:     Dense(α·r · W),        du = 1, dv = α, bias = α·v_leak      (no synaptic current)
    IF:      Dense(r · W),          du = 1, dv = 0

so that Lava's ``u`` is α·r·I and its ``v`` is the NIR node's v. An Affine bias goes to the *current*
(Norse adds b to i, Lava's LIF bias goes to v): it becomes a Dense column fed by a source that emits
1 on every step.

**Depth and delays.** Each Dense delays by one step, so a population ``depth`` Dense hops from the
input computes, at Lava step t + depth, what the reference computes at step t. A synapse from a
population of the same depth (a recurrent edge such as the braille RNN's ``w_rec``) then carries
spikes of step t − 1, exactly the reference's recurrence; any other depth difference would change
the timing, so it is refused.

Not expressible on Lava's LIF, refused with the node named: ``v_reset`` ≠ 0, per-neuron τ,
a neuron fed straight from another neuron or from the input without a Dense.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import nir
import numpy as np

from neuro_av.export.nir_graph import NIRExportError

NEURON_NODES = (nir.CubaLIF, nir.LIF, nir.IF)
SYNAPSE_NODES = (nir.Affine, nir.Linear)


@dataclass
class Population:
    name: str
    size: int
    depth: int  # Dense hops from the input (1: fed by an input)
    du: float
    dv: float
    v_bias: np.ndarray  # (N,) added to v every step
    vth: np.ndarray  # (N,) static threshold (the base θ_0 for dynamic ones)
    threshold_input: str | None = None  # name of the per-step threshold stream, if any


@dataclass
class Synapse:
    name: str
    src: str  # an input or a population
    dst: str  # a population
    weight: np.ndarray  # (N_dst, N_src), gain folded in
    bias: np.ndarray  # (N_dst,), gain folded in
    graded: bool  # carries graded values (src is an input)


@dataclass
class LavaPlan:
    dt_s: float
    inputs: dict[str, int]  # input node -> width
    populations: dict[str, Population]
    synapses: list[Synapse] = field(default_factory=list)

    @property
    def depth(self) -> int:
        return max(p.depth for p in self.populations.values())

    def incoming(self, pop: str) -> list[Synapse]:
        return [s for s in self.synapses if s.dst == pop]


def _uniform(values, what: str, node: str) -> float:
    values = np.asarray(values, np.float64)
    if not np.allclose(values, values.flat[0]):
        raise NIRExportError(f"NIR node {node}: Lava's LIF takes one {what} per population; this node has several")
    return float(values.flat[0])


def _neuron(name: str, node, dt_s: float) -> tuple[np.ndarray, float, float, np.ndarray, np.ndarray]:
    """(gain (N,), du, dv, v_bias, vth) of one neuron node."""
    f = lambda a: np.asarray(a, np.float64).ravel()
    if np.any(f(node.v_reset) != 0) if hasattr(node, "v_reset") else False:
        raise NIRExportError(f"NIR node {name}: v_reset must be 0 (Lava's LIF resets to zero)")
    if isinstance(node, nir.CubaLIF):
        alpha, beta = dt_s / f(node.tau_mem), dt_s / f(node.tau_syn)
        gain = alpha * f(node.r) * beta * f(node.w_in)
        du = _uniform(beta, "du (dt/tau_syn)", name)
        return gain, du, _uniform(alpha, "dv (dt/tau_mem)", name), alpha * f(node.v_leak), f(node.v_threshold)
    if isinstance(node, nir.LIF):
        alpha = dt_s / f(node.tau)
        return alpha * f(node.r), 1.0, _uniform(alpha, "dv (dt/tau)", name), alpha * f(node.v_leak), f(node.v_threshold)
    gain = f(node.r)  # nir.IF: v ← v + r·x
    return gain, 1.0, 0.0, np.zeros_like(gain), f(node.v_threshold)


def plan_from_nir(graph: nir.NIRGraph, dt_s: float) -> LavaPlan:
    """The Lava plan of a graph of Input/Output/Affine/Linear/LIF/CubaLIF/IF nodes."""
    nodes = graph.nodes
    pred: dict[str, list[str]] = {}
    succ: dict[str, list[str]] = {}
    for a, b in graph.edges:
        succ.setdefault(a, []).append(b)
        pred.setdefault(b, []).append(a)
    inputs = {k: int(np.prod(np.asarray(n.input_type["input"]))) for k, n in nodes.items() if isinstance(n, nir.Input)}
    pops, syns = {}, []
    for name, node in nodes.items():
        if isinstance(node, NEURON_NODES):
            for p in pred.get(name, []):
                if not isinstance(nodes[p], SYNAPSE_NODES):
                    raise NIRExportError(f"NIR node {name} is fed by {p} without an Affine/Linear in between; "
                                         "Lava needs a Dense there")
    for name, node in nodes.items():
        if not isinstance(node, SYNAPSE_NODES):
            continue
        srcs, dsts = pred.get(name, []), succ.get(name, [])
        if len(srcs) != 1 or len(dsts) != 1 or not isinstance(nodes[dsts[0]], NEURON_NODES):
            raise NIRExportError(f"NIR node {name}: an Affine/Linear must have one source and feed one "
                                 f"LIF/CubaLIF/IF node (has sources {srcs}, targets {dsts})")
        if not isinstance(nodes[srcs[0]], (nir.Input, *NEURON_NODES)):
            raise NIRExportError(f"NIR node {name} is fed by {srcs[0]} ({type(nodes[srcs[0]]).__name__}); "
                                 "two Dense layers in a row are not supported")
        w = np.asarray(node.weight, np.float64)
        b = np.asarray(node.bias, np.float64) if isinstance(node, nir.Affine) else np.zeros(w.shape[0])
        syns.append(Synapse(name, srcs[0], dsts[0], w, b, isinstance(nodes[srcs[0]], nir.Input)))
    for name, node in nodes.items():
        if isinstance(node, NEURON_NODES):
            gain, du, dv, v_bias, vth = _neuron(name, node, dt_s)
            meta = node.metadata or {}
            pops[name] = Population(name, gain.size, 0, du, dv, v_bias, vth, meta.get("threshold_input"))
            for s in syns:
                if s.dst == name:
                    s.weight, s.bias = gain[:, None] * s.weight, gain * s.bias
    if not pops:
        raise NIRExportError("the NIR graph has no LIF/CubaLIF/IF node to run")
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
            raise NIRExportError(f"NIR node {name} is not reachable from any Input node")
        pop.depth = depth[name]
    for s in syns:
        d_src, d_dst = depth[s.src], depth[s.dst]
        if d_src not in (d_dst - 1, d_dst):
            raise NIRExportError(f"NIR edge {s.src} → {s.name} → {s.dst} skips or goes back across layers "
                                 f"(depth {d_src} → {d_dst}); Lava's one-step Dense delay would change its timing")


def simulate(plan: LavaPlan, currents: dict[str, np.ndarray],
             thresholds: dict[str, np.ndarray] | None = None) -> dict[str, np.ndarray]:
    """Reference spikes (B, T, N) per population in float64, in the reference time alignment:
    feed-forward synapses carry this step's spikes, same-depth (recurrent) ones the previous step's.
    ``currents``: input -> (B, T, N_in); ``thresholds``: stream -> broadcastable to (B, T, N)."""
    thresholds = thresholds or {}
    first = np.asarray(next(iter(currents.values())))
    batch, steps = first.shape[:2]
    order = sorted(plan.populations.values(), key=lambda p: p.depth)
    u = {p.name: np.zeros((batch, p.size)) for p in order}
    v = {p.name: np.zeros((batch, p.size)) for p in order}
    out = {p.name: np.zeros((batch, steps, p.size)) for p in order}
    theta = {p.name: np.broadcast_to(np.asarray(thresholds[p.threshold_input] if p.threshold_input else p.vth,
                                                np.float64), (batch, steps, p.size)) for p in order}
    for t in range(steps):
        for p in order:
            x = np.zeros((batch, p.size))
            for s in plan.incoming(p.name):
                if s.src in plan.inputs:
                    x += np.asarray(currents[s.src][:, t], np.float64) @ s.weight.T
                elif plan.populations[s.src].depth < p.depth:
                    x += out[s.src][:, t] @ s.weight.T
                elif t > 0:
                    x += out[s.src][:, t - 1] @ s.weight.T
                x += s.bias
            u[p.name] = u[p.name] * (1 - p.du) + x
            v[p.name] = v[p.name] * (1 - p.dv) + u[p.name] + p.v_bias
            spk = v[p.name] > theta[p.name][:, t]
            out[p.name][:, t] = spk
            v[p.name] = np.where(spk, 0.0, v[p.name])
    return out
