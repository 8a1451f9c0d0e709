"""The deployment plan: data only — neuron populations and the synapses between them, in float units.

A plan is what :func:`neuro_av.export.compile.compile_graph` makes of a NIR graph and what every
backend runs (:mod:`neuro_av.export.backends`). Per neuron (β = dt/τ_syn, α = dt/τ_mem)::

    u ← u·(1 − du) + Σ_synapses (W·s + b)        (s: the source's spikes, or graded input values)
    v ← v·(1 − dv) + u + v_bias
    spike = v > θ_t;   v ← v_reset where it spiked

which is Lava's LIF update; the compiler folds each NIR neuron's gains into ``W`` and ``b`` so that
``v`` is the NIR node's voltage. A synapse stands for the whole chain of linear NIR nodes between two
populations (Affine, Linear, Conv, pooling, Flatten, Scale, summed over every path): ``weight`` is
their exact composition as a dense matrix, ``ops`` what they were.

**Time.** A feed-forward synapse carries its source's spikes of the same step; a ``recurrent`` one
(an edge that closes a cycle) those of the step before. ``depth`` is the longest feed-forward path
from an input in synapses; on Lava, where every Dense delays by one step, a population of depth d
holds the reference's step t at Lava step t + d and a synapse waits ``delay`` extra steps so that its
spikes arrive on time (``lava_refusal`` says why a plan has no such schedule).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

SILENT_FLOAT = float("inf")  # a threshold no voltage exceeds


@dataclass
class Population:
    name: str
    size: int
    depth: int  # longest feed-forward path from an input, in synapses
    du: np.ndarray  # (N,) current decay per step
    dv: np.ndarray  # (N,) voltage decay per step
    v_bias: np.ndarray  # (N,) added to v every step
    vth: np.ndarray  # (N,) static threshold (the base θ_0 for a streamed one; inf for a read-out)
    v_reset: np.ndarray  # (N,) v after a spike
    v_init: np.ndarray  # (N,) v at the start of a clip
    threshold_input: str | None = None  # name of the per-step threshold stream, if any
    spiking: bool = True  # False: a leaky integrator whose voltage is the read-out
    node_type: str = "CubaLIF"
    shape: tuple = ()  # the NIR node's shape (C, H, W for a conv layer); size = prod(shape)
    source_params: dict = field(default_factory=dict)  # the NIR node's parameters, median per name (for diagnoses)
    gain: np.ndarray | None = None  # (N,) the factor folded into every synapse into it (see compile's NEURONS)


@dataclass
class Synapse:
    name: str
    src: str  # an input or a population
    dst: str  # a population
    weight: np.ndarray  # (N_dst, N_src), gain folded in
    bias: np.ndarray  # (N_dst,), gain folded in
    graded: bool  # carries graded values (src is an input)
    recurrent: bool = False  # carries the source's previous step
    delay: int = 0  # extra Lava steps beyond the Dense's own one (see the module docstring)
    ops: list = field(default_factory=list)  # [{"node", "type", "kind", ...}] the NIR nodes it stands for


class Record(NamedTuple):
    """What a backend returns: spikes (B, T, N) of spiking populations and voltages (B, T, N) of the
    read-out ones, in the reference time alignment; ``stats``: the backend's own figures (lanes,
    builds, seconds …)."""

    spikes: dict[str, np.ndarray]
    voltages: dict[str, np.ndarray]
    stats: dict = {}


class Streams(NamedTuple):
    """A batch at the network's boundary: graded inputs (B, T, N_in) by input name, threshold streams
    (broadcastable to (B, T, N)) by stream name, and the valid steps (B, T)."""

    currents: dict[str, np.ndarray]
    thresholds: dict[str, np.ndarray]
    mask: np.ndarray

    @property
    def clips(self) -> int:
        return int(self.mask.shape[0])

    @property
    def steps(self) -> int:
        return int(self.mask.shape[1])

    def part(self, start: int, stop: int) -> "Streams":
        def cut(a):
            a = np.asarray(a)
            return a[start:stop] if a.ndim == 3 and a.shape[0] > 1 else a

        return Streams({k: np.asarray(v)[start:stop] for k, v in self.currents.items()},
                       {k: cut(v) for k, v in self.thresholds.items()}, np.asarray(self.mask)[start:stop])


def static_streams(plan: "Plan", currents: dict[str, np.ndarray], mask: np.ndarray | None = None) -> Streams:
    """Streams of a network without a host: each threshold stream holds its base threshold."""
    first = np.asarray(next(iter(currents.values())))
    mask = np.ones(first.shape[:2], bool) if mask is None else np.asarray(mask, bool)
    return Streams(currents, {p.threshold_input: p.vth for p in plan.populations.values() if p.threshold_input}, mask)


@dataclass
class Plan:
    dt_s: float
    inputs: dict[str, int]  # input node -> width
    populations: dict[str, Population]
    synapses: list[Synapse] = field(default_factory=list)
    input_shapes: dict[str, tuple] = field(default_factory=dict)
    notices: list[str] = field(default_factory=list)  # what the reader and compiler repaired or decided
    lava_refusal: str | None = None  # why Lava's one-step Dense delays cannot give this plan's timing

    run_tag = "floating_pt"
    silent = SILENT_FLOAT

    @property
    def depth(self) -> int:
        return max(p.depth for p in self.populations.values())

    def incoming(self, pop: str) -> list[Synapse]:
        return [s for s in self.synapses if s.dst == pop]

    def order(self) -> list[Population]:
        """Populations in the order a step computes them: every feed-forward source first."""
        return sorted(self.populations.values(), key=lambda p: p.depth)

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
