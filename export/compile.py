"""Compile a NIR graph into a :class:`~neuro_av.export.plan.Plan`, through one table of node mappers.

``NEURONS`` maps each NIR neuron type to its Lava-form parameters; ``neuro_av.export.linear_ops.OPS``
maps each linear type to an operator. A new node type is one entry in one of them. Per neuron
(β = dt/τ_syn, α = dt/τ_mem)::

    CubaLIF / CubaLI: Dense(α·r·β·w_in · W), du = β, dv = α, bias = α·v_leak
    LIF / LI:         Dense(α·r · W),        du = 1, dv = α, bias = α·v_leak     (no synaptic current)
    IF:               Dense(r · W),          du = 1, dv = 0

so that the plan's ``v`` is the NIR node's voltage (forward Euler, Norse's order: the input jumps the
current, then the voltage integrates). LI and CubaLI never spike: their voltage is the read-out.

Graph rules (NIR sums every edge into a node): the linear nodes between two populations — any
number of paths, any fan-in and fan-out — become one synapse whose weight is their exact composition;
a neuron fed straight by an input or a neuron gets an identity synapse; an edge that closes a cycle
(found by a depth-first walk from the inputs, in the file's node order) is recurrent and carries the
previous step. Anything else is refused in one line naming the node and its type.

**Initial state.** u = 0 and v = ``v_init`` at the start of every clip: 0 unless the node's metadata
says otherwise (neuro-av writes ``v_init`` for a Norse cell, which starts at v_leak).
"""
from __future__ import annotations

import nir
import numpy as np

from neuro_av.errors import MemoryNeedError
from neuro_av.export.linear_ops import OPS, check_finite
from neuro_av.export.nir_read import (
    NEURON_PARAMS,
    NIRReadError,
    array,
    bypass_pass_through,
    flatten,
    repair_neuron,
)
from neuro_av.export.plan import SILENT_FLOAT, Plan, Population, Synapse
from neuro_av import memory

READOUT_NODES = (nir.CubaLI, nir.LI)
SPIKING_NODES = (nir.CubaLIF, nir.LIF, nir.IF)
NEURON_NODES = SPIKING_NODES + READOUT_NODES
DENSE_LIMIT_BYTES = 8 << 30  # a plan's dense weights beyond this are refused before they are built
DENSE_COPIES = 3  # a composed synapse exists as its input columns, the operator's output and its transpose


def _cuba(node, dt: float, shape) -> dict:
    alpha, beta = dt / array(node.tau_mem), dt / array(node.tau_syn)
    return {"gain": alpha * array(node.r) * beta * array(node.w_in), "du": beta, "dv": alpha,
            "v_bias": alpha * array(node.v_leak)}


def _lif(node, dt: float, shape) -> dict:
    alpha = dt / array(node.tau)
    return {"gain": alpha * array(node.r), "du": np.ones(shape), "dv": alpha, "v_bias": alpha * array(node.v_leak)}


def _if(node, dt: float, shape) -> dict:
    return {"gain": array(node.r), "du": np.ones(shape), "dv": np.zeros(shape), "v_bias": np.zeros(shape)}


NEURONS = {nir.CubaLIF: _cuba, nir.CubaLI: _cuba, nir.LIF: _lif, nir.LI: _lif, nir.IF: _if}


def _supported() -> str:
    return ", ".join(sorted(c.__name__ for c in (*NEURONS, *OPS, nir.Input, nir.Output, nir.NIRGraph)))


def _v_init(name: str, value, n: int) -> np.ndarray:
    """The metadata ``v_init`` as (n,) float64: one value or one per neuron, finite numbers only."""
    v = array(value)
    if v.dtype.kind not in "biuf":
        raise NIRReadError(f"NIR node {name}: metadata v_init = {value!r} is not numbers; give one voltage "
                           f"or one per neuron ({n})")
    if v.size not in (1, n):
        raise NIRReadError(f"NIR node {name}: metadata v_init has {v.size} values for {n} neurons; give one "
                           f"voltage or one per neuron")
    if not np.all(np.isfinite(v)):
        raise NIRReadError(f"NIR node {name}: metadata v_init holds NaN or infinite values")
    return np.broadcast_to(v.astype(np.float64).ravel(), (n,)).copy()


def _neuron_params(name: str, node, dt: float, shape: tuple) -> dict:
    out = {k: np.broadcast_to(v, shape).ravel().astype(np.float64) for k, v in NEURONS[type(node)](node, dt, shape).items()}
    n = int(np.prod(shape))
    spiking = isinstance(node, SPIKING_NODES)
    out["vth"] = array(node.v_threshold).ravel() if spiking else np.full(n, SILENT_FLOAT)
    reset = getattr(node, "v_reset", None)
    out["v_reset"] = np.zeros(n) if reset is None else array(reset).ravel()
    meta = node.metadata or {}
    out["v_init"] = _v_init(name, meta["v_init"], n) if "v_init" in meta else np.zeros(n)
    for key in ("du", "dv"):
        if np.any(out[key] < 0) or np.any(out[key] > 1) or not np.all(np.isfinite(out[key])):
            raise NIRReadError(f"NIR node {name} ({type(node).__name__}): dt/τ must lie in [0, 1] for a "
                               f"forward-Euler step, got {key} from {out[key].min():.4g} to {out[key].max():.4g}; "
                               f"check dt ({dt} s) and the node's τ")
    return {**out, "spiking": spiking}


class _Graph:
    """The flat graph with shapes, and the drive of every node: source -> matrix, and a bias."""

    def __init__(self, graph: nir.NIRGraph, notices: list[str]):
        nodes, edges = flatten(graph, notices)
        top_io = {k for k, n in graph.nodes.items() if isinstance(n, (nir.Input, nir.Output))}
        self.nodes, self.edges = bypass_pass_through(nodes, edges, top_io)
        for a, b in self.edges:
            for end in (a, b):
                if end not in self.nodes:
                    raise NIRReadError(f"NIR edge {a} → {b} names {end}, which is not a node of the graph")
        bad = sorted(f"{k} ({type(n).__name__})" for k, n in self.nodes.items()
                     if type(n) not in NEURONS and type(n) not in OPS and not isinstance(n, (nir.Input, nir.Output)))
        if bad:
            raise NIRReadError(f"unsupported NIR node(s) {', '.join(bad)}; neuro-av reads {_supported()}")
        self.pred: dict[str, list[str]] = {k: [] for k in self.nodes}
        self.succ: dict[str, list[str]] = {k: [] for k in self.nodes}
        for a, b in self.edges:
            self.pred[b].append(a)
            self.succ[a].append(b)
        self.notices = notices
        self.shapes: dict[str, tuple] = {}
        self._drive: dict[str, tuple] = {}

    def is_source(self, name: str) -> bool:
        return isinstance(self.nodes[name], (nir.Input, *NEURON_NODES))

    # -- shapes -----------------------------------------------------------------------------
    def input_shape(self, name: str) -> tuple:
        node = self.nodes[name]
        raw = node.input_type["input"] if isinstance(node.input_type, dict) else node.input_type
        if raw is None:
            raise NIRReadError(f"NIR Input node {name} has no shape")
        shape = tuple(int(v) for v in np.asarray(raw).ravel())
        need = [OPS[type(self.nodes[s])].rank for s in self.succ[name] if type(self.nodes[s]) in OPS]
        rank = max([r for r in need if r is not None], default=1)
        trimmed = shape
        while len(trimmed) > rank and trimmed[0] == 1:
            trimmed = trimmed[1:]
        if trimmed != shape:
            self.notices.append(f"Input {name}: type {shape} read as {trimmed} (a batch dimension dropped)")
        return trimmed

    def shape(self, name: str, stack: tuple = ()) -> tuple:
        if name in self.shapes:
            return self.shapes[name]
        if name in stack:
            raise NIRReadError(f"NIR node {name}: its shape depends on itself through linear nodes only "
                               f"({' → '.join(stack)}); a cycle needs a neuron in it")
        node = self.nodes[name]
        if isinstance(node, nir.Input):
            shape = self.input_shape(name)
        elif isinstance(node, NEURON_NODES):
            shape = self._neuron_shape(name, node, stack)
        else:
            ins = self._in_shapes(name, stack + (name,))
            if not ins:
                raise NIRReadError(f"NIR node {name} ({type(node).__name__}) has no input")
            try:
                shape = tuple(int(v) for v in OPS[type(node)].out_shape(node, ins[0]))
            except NIRReadError as exc:
                raise NIRReadError(f"NIR node {name} ({type(node).__name__}) {exc}") from None
        self.shapes[name] = shape
        return shape

    def _in_shapes(self, name: str, stack: tuple) -> list[tuple]:
        ins = [self.shape(p, stack) for p in self.pred[name] if (p, name) not in self.back_edges]
        sizes = {int(np.prod(s)) for s in ins}
        if len(sizes) > 1:
            raise NIRReadError(f"NIR node {name} sums inputs of different sizes "
                               f"({', '.join(f'{p} {self.shapes.get(p)}' for p in self.pred[name])})")
        return ins

    def _neuron_shape(self, name: str, node, stack: tuple) -> tuple:
        params = [array(getattr(node, k)).shape for k in NEURON_PARAMS[type(node).__name__]
                  if getattr(node, k, None) is not None]
        biggest = max(params, key=lambda s: int(np.prod(s)), default=())
        ins = self._in_shapes(name, stack + (name,))  # back edges are left out, so no cycle leads back here
        if ins:
            shape = max(ins, key=len)
            if int(np.prod(biggest)) not in (1, int(np.prod(shape))):
                raise NIRReadError(f"NIR node {name} ({type(node).__name__}) has parameters of shape {biggest} but "
                                   f"its input has shape {shape}")
            return shape
        return biggest if biggest else (1,)

    # -- cycles -----------------------------------------------------------------------------
    def find_back_edges(self) -> None:
        """Edges to a node on the current depth-first path from the inputs (file order)."""
        self.back_edges: set[tuple[str, str]] = set()
        state: dict[str, int] = {}
        for root in [k for k, n in self.nodes.items() if isinstance(n, nir.Input)] + list(self.nodes):
            if root in state:
                continue
            stack = [(root, iter(self.succ[root]))]
            state[root] = 1
            while stack:
                node, it = stack[-1]
                nxt = next(it, None)
                if nxt is None:
                    state[node] = 2
                    stack.pop()
                elif state.get(nxt) == 1:
                    self.back_edges.add((node, nxt))
                elif nxt not in state:
                    state[nxt] = 1
                    stack.append((nxt, iter(self.succ[nxt])))

    # -- drives -----------------------------------------------------------------------------
    def drive(self, name: str, stack: tuple = ()) -> tuple[dict, np.ndarray | None]:
        """What reaches node ``name``'s input: ({(source, recurrent): (matrix (N, N_src) or None for the
        identity, [op descriptions])}, bias (N,) or None)."""
        if name in self._drive:
            return self._drive[name]
        if name in stack:
            raise NIRReadError(f"NIR nodes {' → '.join(stack + (name,))} form a cycle of linear nodes only; "
                               "a cycle needs a neuron in it")
        paths: dict[tuple[str, bool], tuple] = {}
        bias = None
        n = self._size(name)
        for p in self.pred[name]:
            back = (p, name) in self.back_edges
            if self.is_source(p):
                parts, part_bias = {(p, back): (None, [])}, None
            else:
                parts, part_bias = self._linear_out(p, stack + (name,))
                if back:
                    parts = {(s, True): v for (s, _), v in parts.items()}
            for key, (m, ops) in parts.items():
                if key in paths:
                    old_m, old_ops = paths[key]
                    paths[key] = (_plus(old_m, m, n), old_ops + [o for o in ops if o not in old_ops])
                else:
                    paths[key] = (m, ops)
            if part_bias is not None:
                bias = part_bias if bias is None else bias + part_bias
        self._drive[name] = (paths, bias)
        return self._drive[name]

    def _linear_out(self, name: str, stack: tuple):
        """The drive after linear node ``name``: its operator applied to what reaches it."""
        node = self.nodes[name]
        check_finite(name, node)
        op = OPS[type(node)]
        paths, bias = self.drive(name, stack)
        in_shape = self._in_shapes(name, stack + (name,))[0]
        out_shape = self.shape(name)
        n_in, n_out = int(np.prod(in_shape)), int(np.prod(out_shape))
        desc = {"node": name, "type": type(node).__name__, "kind": op.kind, "in_shape": list(in_shape),
                "out_shape": list(out_shape)}
        if op.kind == "conv":
            desc["kernel_weights"] = int(array(node.weight).size)
        out = {}
        for key, (m, ops) in paths.items():
            if m is None and op.kind == "reshape":
                out[key] = (None, [*ops, desc])
                continue
            n_src = self._size(key[0])
            _check_memory(name, n_src * max(n_out, n_in))
            cols = _eye(n_src, name) if m is None else m.T  # (N_src, N_in): one input vector per source neuron
            applied = op.apply(node, cols.reshape(n_src, *in_shape)).reshape(n_src, n_out)
            out[key] = (np.ascontiguousarray(applied.T), [*ops, desc])
        if bias is not None:
            bias = op.apply(node, bias.reshape(1, *in_shape)).reshape(n_out)
        own = op.bias(node, out_shape)
        if own is not None:
            bias = own.astype(np.float64) if bias is None else bias + own
        return out, bias

    def _size(self, name: str) -> int:
        return int(np.prod(self.shape(name)))


def _plus(a, b, n: int):
    a = _eye(n) if a is None else a
    b = _eye(n) if b is None else b
    return a + b


def _eye(n: int, name: str = "") -> np.ndarray:
    """The identity synapse of ``n`` neurons (an input or a neuron feeding a population directly)."""
    _check_memory(name or f"a {n:,}-neuron identity synapse", n * n)
    return np.eye(n)


def _check_memory(name: str, entries: int) -> None:
    """Refuse a dense matrix of ``entries`` float64 before building it: beyond ``DENSE_LIMIT_BYTES``,
    or beyond the memory available now for the ``DENSE_COPIES`` a composition holds at once."""
    need = entries * 8
    have = memory.available_bytes()
    if need > DENSE_LIMIT_BYTES or need * DENSE_COPIES > have:
        gib = memory.GIB
        raise MemoryNeedError(f"NIR node {name}: needs {need * DENSE_COPIES / gib:.1f} GiB for its dense weights "
                              f"({entries:,} values, {DENSE_COPIES} copies while composed); this machine has "
                              f"{have / gib:.1f} GiB available, and neuro-av builds at most "
                              f"{DENSE_LIMIT_BYTES / gib:.0f} GiB of weights per synapse; split the layer")


def compile_graph(graph: nir.NIRGraph, dt_s: float, notices: list[str] | None = None) -> Plan:
    """The plan of any graph of the supported nodes (see the module docstring)."""
    notices = list(notices or [])
    g = _Graph(graph, notices)
    g.find_back_edges()
    inputs = {k: int(np.prod(g.shape(k))) for k, n in g.nodes.items() if isinstance(n, nir.Input)}
    if not inputs:
        raise NIRReadError("the NIR graph has no Input node")
    pops, syns = {}, []
    for name, node in g.nodes.items():
        if isinstance(node, nir.Output):
            for p in g.pred[name]:
                if not g.is_source(p):
                    raise NIRReadError(f"NIR Output {name} is fed by {p} ({type(g.nodes[p]).__name__}); the host reads "
                                       "neuron outputs: end the graph with a neuron node")
            continue
        if type(node) not in NEURONS:
            continue
        shape = g.shape(name)
        repaired = repair_neuron(name, node, shape, notices)
        p = _neuron_params(name, repaired, dt_s, shape)
        meta = node.metadata or {}
        pops[name] = Population(name, int(np.prod(shape)), 0, p["du"], p["dv"], p["v_bias"], p["vth"], p["v_reset"],
                                p["v_init"], meta.get("threshold_input"), p["spiking"], type(node).__name__, shape,
                                {k: float(np.median(array(getattr(repaired, k)))) for k in
                                 NEURON_PARAMS[type(node).__name__] if getattr(repaired, k, None) is not None},
                                np.asarray(p["gain"], np.float64))
        paths, bias = g.drive(name)
        if not paths:
            raise NIRReadError(f"NIR node {name} ({type(node).__name__}) has no input")
        gain = p["gain"]
        bias_at = next((k for k in paths if not k[1]), next(iter(paths)))  # the bias rides on a feed-forward synapse
        for (src, recurrent), (m, ops) in paths.items():
            src_node = g.nodes[src]
            if isinstance(src_node, READOUT_NODES):
                raise NIRReadError(f"NIR node {name} is fed by the read-out {src} ({type(src_node).__name__}); a read-out "
                                   "never spikes, so nothing can follow it")
            n_src = g._size(src)
            w = _eye(pops[name].size, f"{src} -> {name}") if m is None else m
            if w.shape != (pops[name].size, n_src):
                raise NIRReadError(f"NIR node {name} ({pops[name].size} neurons) is fed {n_src} values by {src} "
                                   "without a linear node to map them")
            b = bias if ((src, recurrent) == bias_at and bias is not None) else np.zeros(pops[name].size)
            label = ops[-1]["node"] if ops else f"{src}->{name}"
            if any(s.name == label for s in syns):
                label = f"{label}:{src}"
            syns.append(Synapse(label, src, name, gain[:, None] * w, gain * b, isinstance(src_node, nir.Input),
                                recurrent, 0, ops))
    if not pops:
        raise NIRReadError("the NIR graph has no neuron node (LIF/CubaLIF/IF/LI/CubaLI) to run")
    _fill_types(g)
    plan = Plan(dt_s, inputs, pops, syns, {k: g.shape(k) for k in inputs}, notices)
    _schedule(plan)
    return plan


def _fill_types(g: _Graph) -> None:
    """A Conv's ``input_shape`` and a Flatten's ``input_type`` that a peer left out (sinabs), filled in
    from the graph in place, so ``nir.write`` can write the repaired graph."""
    for name, node in g.nodes.items():
        if isinstance(node, (nir.Conv1d, nir.Conv2d)) and getattr(node, "input_shape", None) is None:
            in_shape = g._in_shapes(name, (name,))[0]
            node.input_shape = in_shape[1] if isinstance(node, nir.Conv1d) else tuple(in_shape[1:])
            node.input_type = {"input": np.array(in_shape)}
            node.output_type = {"output": np.array(g.shape(name))}
            g.notices.append(f"{name} ({type(node).__name__}): no input_shape; {tuple(in_shape)} taken from the graph")
        elif isinstance(node, nir.Flatten) and (node.input_type or {}).get("input") is None:
            in_shape = g._in_shapes(name, (name,))[0]
            node.input_type = {"input": np.array(in_shape)}
            node.output_type = {"output": np.array(g.shape(name))}
            g.notices.append(f"{name} (Flatten): no input_type; {tuple(in_shape)} taken from the graph")
        elif isinstance(node, (nir.SumPool2d, nir.AvgPool2d)) and (node.input_type or {}).get("input") is None:
            node.input_type = {"input": np.array(g._in_shapes(name, (name,))[0])}
            node.output_type = {"output": np.array(g.shape(name))}


def _schedule(plan: Plan) -> None:
    """Depths (longest feed-forward path) and each synapse's extra Lava delay; ``lava_refusal`` when a
    recurrent edge comes from deeper than it goes (its spikes would have to arrive before they leave)."""
    depth = {k: 0 for k in plan.inputs}
    ff = [s for s in plan.synapses if not s.recurrent]
    for _ in range(len(plan.populations) + 1):
        changed = False
        for s in ff:
            if s.src in depth and depth[s.src] + 1 > depth.get(s.dst, 0):
                depth[s.dst] = depth[s.src] + 1
                changed = True
        if not changed:
            break
    for name, pop in plan.populations.items():
        if name not in depth:
            raise NIRReadError(f"NIR node {name} is not reachable from any Input node")
        pop.depth = depth[name]
    for s in plan.synapses:
        d_src, d_dst = depth[s.src], depth[s.dst]
        s.delay = d_dst - d_src - (0 if s.recurrent else 1)
        if s.delay < 0 and plan.lava_refusal is None:
            plan.lava_refusal = (f"the recurrent edge {s.src} → {s.dst} goes back {d_src - d_dst} layer(s); on Lava every "
                                 "Dense delays by one step, so its spikes cannot arrive one step later as the graph "
                                 "says (the reference and torch backends run it)")
    skips = [s for s in plan.synapses if s.delay > 0]
    if skips:
        plan.notices.append(f"{len(skips)} synapse(s) skip layers; on Lava they wait "
                            f"{', '.join(sorted({str(s.delay) for s in skips}))} extra step(s) so spikes arrive on time")
