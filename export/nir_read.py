"""Read any NIR graph the way peers write it: neuro-av's own shape checks instead of ``nir.read``'s
type inference, nested graphs flattened, and a notice for every repair.

What peers write that ``nir.read`` (1.0.8) rejects or that a plan cannot use as it is:

- a batch dimension in an ``Input`` / ``Output`` type (Rockpool writes ``(1, N)``): dropped where the
  consumer's rank says so;
- parameters of one neuron node with different shapes (``(1,)`` beside ``(N,)``, 0-d scalars):
  broadcast to the node's shape;
- a ``Conv1d`` / ``Conv2d`` without ``input_shape`` or a ``Flatten`` without ``input_type`` (sinabs):
  filled in from the graph (so ``nir.write`` can write the repaired graph);
- torch tensors as parameters (snnTorch, sinabs keep them in memory): NumPy arrays;
- nested ``NIRGraph`` nodes (snnTorch's ``RLeaky``, Spyx, nirtorch): flattened, inner names kept as
  ``outer.inner``; edges into a subgraph go to its ``Input`` node(s), edges out of it leave from its
  ``Output`` node(s) (``outer`` alone when it has one, ``outer.<name>`` to pick one).

Sharp edges: NIR stores no dt, so a foreign graph needs one (``dt_s``; neuro-av's own graphs carry
``dt_s`` in their metadata). Shapes here are NIR's, without the batch dimension.
"""
from __future__ import annotations

from pathlib import Path

import nir
import numpy as np

from neuro_av.data.paths import path_problem
from neuro_av.errors import ExportError

NEURON_PARAMS = {
    "CubaLIF": ("tau_syn", "tau_mem", "r", "v_leak", "v_threshold", "v_reset", "w_in"),
    "CubaLI": ("tau_syn", "tau_mem", "r", "v_leak", "w_in"),
    "LIF": ("tau", "r", "v_leak", "v_threshold", "v_reset"),
    "LI": ("tau", "r", "v_leak"),
    "IF": ("r", "v_threshold", "v_reset"),
}
PASS_THROUGH = (nir.Input, nir.Output)


class NIRReadError(ExportError):
    """A graph neuro-av cannot read; the message names the file or node and what to change."""


def array(value) -> np.ndarray:
    """A parameter as a NumPy array (torch tensors included), float64 for floats."""
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    a = np.asarray(value)
    return a.astype(np.float64) if a.dtype.kind == "f" else a


def read_file(path: Path) -> nir.NIRGraph:
    """The graph in a NIR file without ``nir.read``'s type inference; a one-line error otherwise."""
    path = Path(path)
    problem = path_problem(path)
    if problem:  # a link loop, a dangling link or a folder named as such, not as missing
        raise NIRReadError(f"NIR graph {path} {'does not exist' if problem == 'is missing' else problem}")
    try:
        return nir.read(str(path), type_check=False)
    except Exception as exc:  # h5py and nir raise OSError, KeyError, ValueError, AssertionError … for foreign files
        first = (str(exc).strip().splitlines() or [""])[0]
        raise NIRReadError(f"{path} is not a readable NIR graph ({type(exc).__name__}: {first}); "
                           "pass an HDF5 file written by nir.write") from None


def flatten(graph: nir.NIRGraph, notices: list[str], prefix: str = "") -> tuple[dict, list]:
    """Nodes and edges of ``graph`` with every nested graph inlined (names ``outer.inner``)."""
    nodes, edges = {}, []
    entry, exit_ = {}, {}  # subgraph name -> {port name: inner node}
    for name, node in graph.nodes.items():
        full = _qualify(prefix, name)
        if isinstance(node, nir.NIRGraph):
            inner_nodes, inner_edges = flatten(node, notices, prefix=f"{full}.")
            nodes.update(inner_nodes)
            edges += inner_edges
            entry[name] = {k: _qualify(f"{full}.", k) for k, n in node.nodes.items() if isinstance(n, nir.Input)}
            exit_[name] = {k: _qualify(f"{full}.", k) for k, n in node.nodes.items() if isinstance(n, nir.Output)}
            notices.append(f"nested graph {full} ({len(node.nodes)} nodes) flattened; its nodes are named {full}.<node>")
        else:
            nodes[full] = node
    for a, b in graph.edges:
        edges.append((_port(a, exit_, "output", prefix), _port(b, entry, "input", prefix)))
    return nodes, edges


def _qualify(prefix: str, name: str) -> str:
    """A node's flat name: ``prefix`` + name, unless the name already carries it (Spyx writes inner
    nodes as ``outer.inner``)."""
    return name if name.startswith(prefix) else f"{prefix}{name}"


def _port(ref: str, ports: dict, kind: str, prefix: str) -> str:
    """An edge end: a plain node, a subgraph (its single Input/Output) or ``subgraph.port``."""
    if ref in ports:
        if len(ports[ref]) != 1:
            raise NIRReadError(f"an edge names the nested graph {prefix}{ref}, which has {len(ports[ref])} {kind} "
                               f"nodes ({', '.join(sorted(ports[ref]))}); name one as {ref}.<node>")
        return next(iter(ports[ref].values()))
    head, _, tail = ref.partition(".")
    if head in ports:
        for key in (tail, ref):  # subgraph.port, or the port's own already-prefixed name
            if key in ports[head]:
                return ports[head][key]
    return _qualify(prefix, ref)


def bypass_pass_through(nodes: dict, edges: list, keep: set[str]) -> tuple[dict, list]:
    """Remove the Input/Output nodes of inlined subgraphs (not in ``keep``), joining their edges."""
    drop = {k for k, n in nodes.items() if isinstance(n, PASS_THROUGH) and k not in keep}
    pred = {k: [a for a, b in edges if b == k] for k in drop}

    def sources(node: str, seen: frozenset = frozenset()) -> list[str]:
        if node not in drop:
            return [node]
        if node in seen:
            raise NIRReadError(f"the pass-through nodes around {node} form a loop with no computation in it")
        return [s for p in pred[node] for s in sources(p, seen | {node})]

    out = []
    for a, b in edges:
        if b in drop:
            continue
        out += [(s, b) for s in sources(a)]
    return {k: n for k, n in nodes.items() if k not in drop}, list(dict.fromkeys(out))


def repair_neuron(name: str, node, shape: tuple | None, notices: list[str]):
    """The neuron node with every parameter broadcast to one shape (``shape`` when the graph gives it)."""
    kind = type(node).__name__
    params = {k: array(getattr(node, k)) for k in NEURON_PARAMS[kind] if getattr(node, k, None) is not None}
    shapes = {k: v.shape for k, v in params.items()}
    target = tuple(shape) if shape is not None else max(shapes.values(), key=lambda s: int(np.prod(s)))
    fixed = {}
    for k, v in params.items():
        if v.shape == target:
            fixed[k] = v
            continue
        try:
            fixed[k] = np.broadcast_to(v, target).copy()
        except ValueError:
            if v.size == int(np.prod(target)):
                fixed[k] = v.reshape(target)
            else:
                raise NIRReadError(f"NIR node {name} ({kind}): parameter {k} has shape {v.shape}, which does not "
                                   f"fit the node's shape {target}") from None
    if any(s != target for s in shapes.values()):
        odd = sorted(f"{k} {s}" for k, s in shapes.items() if s != target)
        notices.append(f"{name} ({kind}): parameters {', '.join(odd)} broadcast to the node's shape {target}")
    for k, v in fixed.items():
        if v.dtype.kind not in "biuf":
            raise NIRReadError(f"NIR node {name} ({kind}): parameter {k} holds values of dtype {v.dtype}, not numbers")
        if not np.all(np.isfinite(v)):
            raise NIRReadError(f"NIR node {name} ({kind}): parameter {k} holds NaN or infinite values")
    if "v_reset" in NEURON_PARAMS[kind] and "v_reset" not in fixed:
        fixed["v_reset"] = np.zeros(target)
    return type(node)(**fixed, metadata=dict(getattr(node, "metadata", None) or {}))


def dt_of(graph: nir.NIRGraph, where: str, dt_s: float | None) -> float:
    """``dt_s`` if given, else the graph's ``dt_s`` metadata (neuro-av's own graphs), validated."""
    meta = getattr(graph, "metadata", None) or {}
    if dt_s is None:
        if "dt_s" not in meta:
            other = next((k for k in ("dt", "timestep", "time_step") if k in meta), None)
            said = (f" (its metadata has {other} = {meta[other]!r}, in no stated unit; neuro-av reads dt_s, in "
                    "seconds)") if other else ""
            raise NIRReadError(f"{where} does not record its time step{said}: pass dt explicitly (--dt SECONDS); "
                               "the NIR paper's graphs use 1e-4 s, snnTorch's export assumes 1e-4 s")
        try:
            dt_s = float(np.asarray(meta["dt_s"]))
        except (TypeError, ValueError):
            raise NIRReadError(f"{where}: its metadata dt_s = {meta['dt_s']!r} is not a number of seconds; "
                               "pass --dt SECONDS") from None
    if not np.isfinite(dt_s) or dt_s <= 0:
        raise NIRReadError(f"{where}: dt must be a positive number of seconds, got {dt_s}")
    return float(dt_s)
