"""The spiking branch as a NIR graph, with neuro-av's own Norse → NIR mapping.

Not ``norse.torch.to_nir`` (1.1.0 writes τ = dt/τ_inv and 0-d parameters) and not nirtorch's default
Affine mapping (2.6 drops the bias): each chain of a :class:`SpikingBranch` becomes
``<chain>.input → <chain>.fc<i> (Affine) → <chain>.lif<i> (CubaLIF) → … → <chain>.output``.

Sharp edges:

- **Units**: τ in seconds, per-neuron arrays of shape (N,) for every parameter (0-d arrays break
  ``nir.write``). Norse's step adds the input to the current (``i ← i + x``) before integrating; in
  NIR's ``τ_s dI/dt = −I + w_in·S`` under forward Euler that is ``w_in = τ_s/dt`` (and ``r = 1``).
- **dt** is not part of NIR: it is in the graph metadata (``dt_s``), with the reset mode
  (``reset = "zero"``: v ← v_reset on a spike) and the model config (JSON); importing a foreign graph
  takes dt as an explicit argument.
- **Dynamic thresholds**: NIR has no such neuron. A CubaLIF stores the base threshold θ_0 and node
  metadata ``threshold_input`` naming the stream that carries θ_t (``<chain>.lif<i>.threshold``);
  other tools see a static-threshold neuron, neuro-av's Lava builder adds a threshold port.
- **Input kind**: NIR does not say whether an input carries binary spikes or graded values; export
  records it in the graph metadata (``input_kind``, JSON ``{input node: "spikes" | "graded"}``), so
  ``neuro-av plan`` of the written file decides what a chip can take as export did.
"""
from __future__ import annotations

import io
import json
from pathlib import Path

import nir
import numpy as np

from neuro_av import naming
from neuro_av.export.nir_read import NIRReadError
from neuro_av.io import write_bytes

RESET_MODE = "zero"
INPUT_KIND = "input_kind"  # graph metadata: JSON {input node: "spikes" | "graded"}


NIRExportError = NIRReadError  # the old name


def _vec(value, n: int) -> np.ndarray:
    return np.broadcast_to(np.asarray(value, dtype=np.float32), (n,)).copy()


def snn_to_nir(branch, threshold_base: float, dynamic_threshold: bool, config: dict | None = None) -> nir.NIRGraph:
    """NIR graph of a :class:`neuro_av.models.partition.SpikingBranch` (weights as float32)."""
    p = branch.lif_params
    nodes, edges = {}, []
    for chain, layers in branch.chains.items():
        n_in = layers[0].in_features
        prev = naming.input_node(chain)
        nodes[prev] = nir.Input(input_type=np.array([n_in]))
        for i, layer in enumerate(layers):
            n = layer.out_features
            fc, lif = naming.synapse_node(chain, i), naming.neuron_node(chain, i)
            nodes[fc] = nir.Affine(weight=layer.weight.detach().cpu().numpy().astype(np.float32),
                                   bias=layer.bias.detach().cpu().numpy().astype(np.float32))
            meta = {"threshold_input": naming.threshold_stream(chain, i)} if dynamic_threshold else {}
            nodes[lif] = nir.CubaLIF(
                tau_syn=_vec(p.tau_syn_s, n), tau_mem=_vec(p.tau_mem_s, n), r=_vec(1.0, n),
                v_leak=_vec(p.v_leak, n), v_threshold=_vec(threshold_base, n), v_reset=_vec(p.v_reset, n),
                w_in=_vec(p.tau_syn_s / p.dt_s, n), metadata=meta)
            edges += [(prev, fc), (fc, lif)]
            prev = lif
        nodes[naming.output_node(chain)] = nir.Output(output_type=np.array([layers[-1].out_features]))
        edges.append((prev, naming.output_node(chain)))
    metadata = {"dt_s": float(p.dt_s), "reset": RESET_MODE, "producer": "neuro-av",
                "neuron_model": "norse lif_feed_forward_step (current jump, then Euler)",
                "config": json.dumps(config or {})}
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata=metadata)


def record_input_kind(graph: nir.NIRGraph, spike_inputs=()) -> nir.NIRGraph:
    """``graph`` with metadata ``input_kind`` naming each input node "spikes" (in ``spike_inputs``:
    binary spikes) or "graded" (any other value)."""
    kinds = {name: "spikes" if name in spike_inputs else "graded"
             for name, node in graph.nodes.items() if isinstance(node, nir.Input)}
    graph.metadata = {**(graph.metadata or {}), INPUT_KIND: json.dumps(kinds)}
    return graph


def recorded_spike_inputs(graph: nir.NIRGraph) -> tuple[str, ...] | None:
    """The input nodes ``graph``'s metadata records as binary spikes; None where it records no input
    kind (a foreign graph, or one written before neuro-av recorded it)."""
    raw = (getattr(graph, "metadata", None) or {}).get(INPUT_KIND)
    if raw is None:
        return None
    try:
        kinds = json.loads(str(raw))
    except ValueError:
        return None
    if not isinstance(kinds, dict):
        return None
    return tuple(name for name, kind in kinds.items() if kind == "spikes" and name in graph.nodes)


def write_graph(graph: nir.NIRGraph, path: Path) -> None:
    """``nir.write`` into memory, then one atomic write: a crash leaves no half-written graph, and a
    disk that refuses the bytes (full, a file-size limit) is one line naming the file; HDF5 writing
    to such a disk itself can crash the interpreter (a segmentation fault under ``ulimit -f``)."""
    buf = io.BytesIO()
    nir.write(buf, graph)
    write_bytes(buf.getvalue(), Path(path))


def chain_graph(graph: nir.NIRGraph, input_node: str) -> nir.NIRGraph:
    """The part of ``graph`` reachable from ``input_node``: one chain as a single-input graph."""
    succ: dict[str, list[str]] = {}
    for a, b in graph.edges:
        succ.setdefault(a, []).append(b)
    keep, todo = set(), [input_node]
    while todo:
        node = todo.pop()
        if node not in keep:
            keep.add(node)
            todo += succ.get(node, [])
    return nir.NIRGraph(nodes={k: n for k, n in graph.nodes.items() if k in keep},
                        edges=[(a, b) for a, b in graph.edges if a in keep and b in keep],
                        metadata=dict(graph.metadata))


def read_graph(path: Path, dt_s: float | None = None) -> tuple[nir.NIRGraph, float]:
    """Any NIR graph file (read without ``nir.read``'s type inference: peers' files are repaired by the
    compiler, with notices) and its dt — from ``dt_s`` if given, else from neuro-av's metadata."""
    from neuro_av.export.nir_read import dt_of, read_file

    graph = read_file(Path(path))
    return graph, dt_of(graph, str(path), dt_s)
