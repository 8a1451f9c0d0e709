"""NeuroBench's metrics, by their names and definitions, from what a co-simulation already counts.

NeuroBench (Yik et al., "NeuroBench: a framework for benchmarking neuromorphic computing algorithms
and systems", Nature Communications 2025; package ``neurobench`` 2.x, ``neurobench/metrics``) defines,
for a model run on a data set:

- ``ActivationSparsity`` (workload): zero activations / all activations, over every activation
  (neuron) layer, time step and sample — 1 − (spikes / neuron-steps) for a spiking network.
- ``SynapticOperations`` (workload), per sample: ``Effective_ACs`` — for each connection layer
  (Linear, Conv) whose input is spiking (every value -1, 0 or 1), Σ over its non-zero inputs of the
  non-zero weights they meet (``single_layer_MACs`` on binary copies of input and weights, bias left
  out); ``Effective_MACs`` — the same for a layer whose input is not spiking (graded values);
  ``Dense`` — the same with every input and every weight set to one (zero weights included).
- ``MembraneUpdates`` (workload), per sample: the updates of every neuron's membrane potential, counted
  where the potential after a step differs from the one before it (every neuron on the first step).
- ``ConnectionSparsity`` (static): zero weights / all weights of the connection layers (Linear, Conv,
  recurrent weights); biases and neuron parameters left out.
- ``Footprint`` (static): bytes of the model's parameters and buffers (``numel × element_size``).

Here, from a report's counts (:mod:`neuro_av.sim.counts`, valid steps only, per clip = per sample):

- ``ActivationSparsity`` = 1 − Σ spikes / Σ neuron updates over the spiking populations. Read-out
  populations (leaky integrators, whose output is a voltage the host reads) are left out of this and
  of ``MembraneUpdates_dense`` and listed under ``readouts``.
- ``SynapticOperations``: ``Effective_ACs`` / ``Effective_MACs`` are ``effective_acs`` /
  ``effective_macs`` (NeuroBench's rule on each synapse: non-zero source values × non-zero weights of
  their column; a graded input whose values are all -1, 0 or 1 counts as ACs, as in NeuroBench);
  ``Dense`` is ``dense_macs`` (every entry of every synapse's matrix, every step).
- ``MembraneUpdates_dense`` = neurons × valid steps of the spiking populations, not NeuroBench's
  ``MembraneUpdates`` but its upper bound: the backends record spikes, not every membrane on every
  step, so the updates that leave a membrane unchanged (one at 0 after a reset, with no input) cannot
  be told apart (tests/sim/test_neurobench.py compares the two).
- ``ConnectionSparsity`` over the weights of the graph's Affine, Linear and Conv nodes (nested
  graphs included), as exported.
- ``Footprint`` = bytes of those nodes' weights and biases at the graph's dtype: NeuroBench's
  Footprint of the same network held as torch connection layers. NeuroBench also counts the
  framework's neuron parameters and buffers (snnTorch's β, θ and membrane buffers, whose sizes are the
  framework's choice); the graph's neuron arrays are given apart in ``neuron_parameter_bytes``.

Sharp edges: a synapse stands for the whole chain of linear NIR nodes between two populations (see
:mod:`neuro_av.export.plan`) and is counted as its composed matrix; NeuroBench counts each Linear /
Conv layer on its own input. The two agree where every synapse is one Affine or Linear node
(``per_layer_as_neurobench``). Through a convolution ``Dense`` counts the entries of the equivalent
dense matrix where NeuroBench counts in-bound kernel taps; through average pooling NeuroBench counts
the next layer's operations as MACs (pooled spikes are not binary). A recurrent synapse counts every
spike, the last step's included.
"""
from __future__ import annotations

import numpy as np

CONNECTIONS = ("Affine", "Linear", "Conv1d", "Conv2d")
SOURCE = "NeuroBench 2.x (neurobench.metrics: workload ActivationSparsity, SynapticOperations, MembraneUpdates; " \
         "static ConnectionSparsity, Footprint)"


def _nodes(graph):
    """Every node of a NIR graph, nested graphs opened."""
    for node in graph.nodes.values():
        if type(node).__name__ == "NIRGraph":
            yield from _nodes(node)
        else:
            yield node


def _arrays(node) -> dict[str, np.ndarray]:
    """A node's floating-point parameter arrays (not its shapes, metadata or I/O types); a graph made
    in memory may hold torch tensors (snnTorch's export does)."""
    out = {}
    for name, v in vars(node).items():
        if hasattr(v, "detach"):  # a torch tensor
            v = v.detach().cpu().numpy()
        if isinstance(v, np.ndarray) and v.dtype.kind == "f":
            out[name] = v
    return out


def static_metrics(graph, plan) -> dict:
    """ConnectionSparsity and Footprint of a graph (see the module docstring), and whether the plan's
    synapses are NeuroBench's layers one for one."""
    zeros = weights = synapse_bytes = neuron_bytes = 0
    for node in _nodes(graph):
        arrays = _arrays(node)
        if type(node).__name__ in CONNECTIONS:
            w = arrays.get("weight")
            if w is not None:
                zeros += int((w == 0).sum())
                weights += int(w.size)
            synapse_bytes += sum(a.nbytes for k, a in arrays.items() if k in ("weight", "bias"))
        else:
            neuron_bytes += sum(a.nbytes for a in arrays.values())
    one_to_one = all(len(s.ops) == 1 and s.ops[0].get("type") in ("Affine", "Linear") for s in plan.synapses)
    return {"ConnectionSparsity": zeros / weights if weights else None, "Footprint": synapse_bytes,
            "neuron_parameter_bytes": neuron_bytes, "weights": weights, "zero_weights": zeros,
            "per_layer_as_neurobench": bool(one_to_one and plan.synapses)}


def workload_metrics(plan, layers: dict[str, dict]) -> dict:
    """ActivationSparsity, SynapticOperations and the bound of MembraneUpdates of one backend from its per-clip
    layer figures (``report["backends"][b]["spikes"]``)."""
    spiking = [n for n, p in plan.populations.items() if p.spiking]
    spikes = sum(layers[n]["spikes"] for n in spiking)
    updates = sum(layers[n]["neuron_updates"] for n in spiking)
    total = lambda k: float(sum(r[k] for r in layers.values()))  # noqa: E731
    return {"ActivationSparsity": 1.0 - spikes / updates if updates else None,
            "SynapticOperations": {"Effective_MACs": total("effective_macs"), "Effective_ACs": total("effective_acs"),
                                   "Dense": total("dense_macs")},
            "MembraneUpdates_dense": float(updates)}


def neurobench_report(plan, graph, backends: dict[str, dict]) -> dict:
    """The ``neurobench`` block of report.json: static metrics of the graph, workload metrics per
    backend (from each backend's ``spikes`` per-layer figures), per clip."""
    return {"definitions": SOURCE, "per": "clip (NeuroBench: sample); valid steps only",
            "readouts": [n for n, p in plan.populations.items() if not p.spiking],
            "static": static_metrics(graph, plan),
            "workload": {name: workload_metrics(plan, b["spikes"]) for name, b in backends.items()}}
