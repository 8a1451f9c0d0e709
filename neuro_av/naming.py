"""One name for each thing that crosses the boundary between the host and the spiking branch.

A spiking branch holds independent *chains* (one per modality for STFT and MDFT; one for a user's
Norse network); chain ``c`` has layers ``i = 0 … L−1``, each a synapse (Affine) feeding a population
of LIF neurons. The same names are used by the NIR graph (node names), the ONNX files (tensor
names), the Lava network (populations and streams), the co-simulation and the reports:

=========================  ==========================================================
``c.input``                NIR Input node; the graded input stream of the chain
``c.fc{i}``                NIR Affine node of layer i
``c.lif{i}``               NIR neuron node of layer i; also the name of its spike train
``c.lif{i}.threshold``     the per-step threshold stream of layer i (dynamic thresholds)
``c.output``               NIR Output node
``state.<path>``           an ONNX tensor ``pre`` hands to ``post`` (host-side state)
``embedding.<k>``          the k-th clip embedding ``post`` returns
=========================  ==========================================================

Foreign NIR graphs keep their own node names; these names are what neuro-av writes.
"""
from __future__ import annotations

import re
from typing import NamedTuple

STATE_PREFIX = "state."
EMBEDDING_PREFIX = "embedding."

_STREAM = re.compile(r"^(?P<chain>[^.]+)\.(?:(?P<input>input)|(?P<output>output)|fc(?P<fc>\d+)|"
                     r"lif(?P<lif>\d+)(?P<threshold>\.threshold)?)$")


def input_node(chain: str) -> str:
    return f"{chain}.input"


def synapse_node(chain: str, layer: int) -> str:
    return f"{chain}.fc{layer}"


def neuron_node(chain: str, layer: int) -> str:
    return f"{chain}.lif{layer}"


def threshold_stream(chain: str, layer: int) -> str:
    return f"{neuron_node(chain, layer)}.threshold"


def output_node(chain: str) -> str:
    return f"{chain}.output"


def embedding_name(k: int) -> str:
    return f"{EMBEDDING_PREFIX}{k}"


def layer_names(chains: dict[str, int]) -> list[str]:
    """Spike-train names of every layer, chain by chain (``chains``: chain -> number of layers)."""
    return [neuron_node(c, i) for c, n in chains.items() for i in range(n)]


class Name(NamedTuple):
    kind: str  # "input", "synapse", "neuron", "threshold", "output"
    chain: str
    layer: int | None


def parse(name: str) -> Name | None:
    """What a neuro-av name stands for, or None for a name neuro-av did not write."""
    m = _STREAM.match(name)
    if m is None:
        return None
    if m["input"]:
        return Name("input", m["chain"], None)
    if m["output"]:
        return Name("output", m["chain"], None)
    if m["fc"] is not None:
        return Name("synapse", m["chain"], int(m["fc"]))
    return Name("threshold" if m["threshold"] else "neuron", m["chain"], int(m["lif"]))
