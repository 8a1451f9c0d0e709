"""Place a network's populations on a chip's cores, under every per-core limit of a hardware profile.

Each population is split over k cores, ⌈N/k⌉ neurons each, with the smallest k that satisfies every
known limit at once; populations never share a core (the simple, deterministic packing a person
would do by hand, and an upper bound on what a packing compiler needs). On one core of population p:

- neurons: ⌈N/k⌉ ≤ ``neurons_per_core``;
- input axons: a source neuron of p (or a bias column) reaches a core of p through one axon where it
  has a non-zero weight into that core's neurons; for dense matrices that is every core, so the fan-in
  Σ N_src (+ bias columns) ≤ ``input_axons_per_core`` and splitting does not help; a conv layer's
  composed matrix reaches each core from the inputs its kernels cover only, so splitting does;
- synaptic memory: each input axon stores its non-zero weights into this core's neurons (⌈N/k⌉ for a
  dense matrix; a conv layer's composed matrix is mostly zeros, and nengo-loihi's
  ``Synapse.set_weights`` of a sparse matrix stores each axon's non-zero weights only), costed as
  ``synapse_cost`` says (blocks of ``synapses_per_block`` weights of ``weight_bits`` + index bits,
  plus a header, rounded up to ``memory_unit_bits``), summed over the axons ≤ ``synapse_memory_bits_per_core``
  on the fullest core;
- output axons: each neuron sends one axon to every core it has non-zero weights into, of every
  population it feeds (every core of a dense target; and one to the host when the host reads it),
  summed over the core's neurons ≤ ``output_axons_per_core``, which depends on how its targets are
  split: the packing repeats until no population needs more cores.

A limit the profile does not give is not checked, and the result says so; where the profile gives
only chip-level figures, a population's cores are the lower bound ⌈N / (neurons_per_chip /
cores_per_chip)⌉ (:data:`CHIP_AVERAGE`).

A limit *binds* a population when it is what split it over its cores (one core fewer would exceed
it), or when it is used to at least :data:`BINDS_AT` of its value or beyond; ``binding_limit`` is
None when none does, and ``largest_limit`` names the most used one either way.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np

from neuro_av.export.hardware import figure

PER_CORE = ("neurons_per_core", "input_axons_per_core", "synapse_memory_bits_per_core", "output_axons_per_core")
CHIP_AVERAGE = "neurons_per_chip / cores_per_chip"  # the per-core neuron bound where only chip figures exist
BINDS_AT = 0.9


@dataclass
class PopulationPlacement:
    name: str
    neurons: int
    fan_in: int  # input axons every core of the population needs
    synapses: int  # weights stored: the non-zero weights and biases into the population
    weight_bits: int
    cores: int
    neurons_per_core: int
    binding_limit: str | None  # the limit that binds (see the module docstring), or None
    largest_limit: str | None  # the most used limit, binding or not
    utilisation: dict = field(default_factory=dict)  # limit -> used / available, per core
    core_ids: list = field(default_factory=list)


def synapse_bits_per_axon(n_weights: int, weight_bits: int, cost: dict) -> int:
    """Memory bits of one input axon addressing ``n_weights`` weights (nengo-loihi's cost model)."""
    return int(_bits_per_axon(np.array([n_weights]), weight_bits, cost)[0])


def _bits_per_axon(counts: np.ndarray, weight_bits: int, cost: dict) -> np.ndarray:
    """:func:`synapse_bits_per_axon` of every entry of ``counts`` at once (0 weights: 0 bits): blocks of
    ``synapses_per_block`` weights, each with its header, rounded up to whole memory units."""
    per_weight = weight_bits + cost["index_bits"]
    unit, block, header = cost["memory_unit_bits"], cost["synapses_per_block"], cost["block_header_bits"]
    full, rest = np.divmod(np.asarray(counts, np.int64), block)
    return (full * unit * math.ceil((block * per_weight + header) / unit)
            + np.where(rest > 0, unit * np.ceil((rest * per_weight + header) / unit), 0)).astype(np.int64)


class _Weights:
    """Each synapse's non-zero weights counted per core of its target, by the target's core count
    (cached: the packing asks again and again, for input axons, memory and output axons alike)."""

    def __init__(self, plan):
        self.sizes = {name: p.size for name, p in plan.populations.items()}
        self.sparse = {s.name: m for s in plan.synapses if not (m := np.asarray(s.weight) != 0).all()}
        self._cache: dict[tuple, np.ndarray] = {}

    def starts(self, pop: str, cores: int) -> np.ndarray:
        """First neuron of each of ``cores`` cores of ⌈N / cores⌉ neurons."""
        return np.arange(0, self.sizes[pop], math.ceil(self.sizes[pop] / cores))

    def per_core(self, s, cores: int) -> np.ndarray:
        """(cores, N_src) non-zero weights of each source neuron into each core of a sparse synapse's target."""
        key = (s.name, cores)
        if key not in self._cache:
            self._cache[key] = np.add.reduceat(self.sparse[s.name], self.starts(s.dst, cores), axis=0, dtype=np.int64)
        return self._cache[key]

    def reach(self, s, cores: int) -> np.ndarray:
        """(N_src,) cores of the target each source neuron has non-zero weights into (one output axon each)."""
        if s.name not in self.sparse:
            return np.full(s.weight.shape[1], cores, np.int64)
        return (self.per_core(s, cores) > 0).sum(axis=0)


class _Stored:
    """The non-zero weights (and bias values) into one population, by input axon and core."""

    def __init__(self, plan, pop: str, weights: _Weights):
        syns = plan.incoming(pop)
        self.pop, self.size, self.weights = pop, plan.populations[pop].size, weights
        self.dense = [s.weight.shape[1] for s in syns if s.name not in weights.sparse]  # axons of dense matrices
        self.sparse = [s for s in syns if s.name in weights.sparse]
        self.biases = [np.asarray(s.bias) != 0 for s in syns if (s.bias != 0).any()]  # one axon each
        self.total = (sum(n * self.size for n in self.dense) + sum(int(weights.sparse[s.name].sum()) for s in self.sparse)
                      + sum(int(b.sum()) for b in self.biases))
        rows = np.full(self.size, sum(self.dense), np.int64)
        for s in self.sparse:
            rows += weights.sparse[s.name].sum(axis=1)
        for b in self.biases:
            rows += b
        self.min_axons = int(rows.max())  # the neuron that needs most: what one neuron per core still needs
        self._use: dict[tuple, tuple[int, int]] = {}  # (cores, weight bits) -> use

    def use(self, cores: int, weight_bits: int, cost: dict | None) -> tuple[int, int]:
        """(input axons, synaptic memory bits) of the fullest of ``cores`` cores of ⌈N / cores⌉ neurons:
        an axon reaches a core where it has a non-zero weight (or bias) into the core's neurons."""
        if (cores, weight_bits) not in self._use:
            self._use[cores, weight_bits] = self._per_core(cores, weight_bits, cost)
        return self._use[cores, weight_bits]

    def _per_core(self, cores: int, weight_bits: int, cost: dict | None) -> tuple[int, int]:
        starts = self.weights.starts(self.pop, cores)
        sizes = np.diff(np.append(starts, self.size))
        axons = np.full(len(starts), sum(self.dense), np.int64)
        bits = np.zeros(len(starts), np.int64)
        counts = [self.weights.per_core(s, cores) for s in self.sparse]  # (cores, N_src)
        counts += [np.add.reduceat(b, starts, dtype=np.int64)[:, None] for b in self.biases]
        for c in counts:
            axons += (c > 0).sum(axis=1)
        if cost is not None:
            for n_src in self.dense:
                bits += n_src * _bits_per_axon(sizes, weight_bits, cost)
            for c in counts:
                bits += _bits_per_axon(c, weight_bits, cost).sum(axis=1)
        return int(axons.max()), int(bits.max())


def _fan_in(plan, pop: str) -> int:
    syns = plan.incoming(pop)
    width = {**plan.inputs, **{p.name: p.size for p in plan.populations.values()}}
    return sum(width[s.src] for s in syns) + sum(1 for s in syns if (s.bias != 0).any())


def place(plan, profile: dict, weight_bits: int, host_reads: set[str]) -> dict:
    """``{"populations": [...], "cores", "chips", "violations", "unchecked", "cores_lower_bound"}``."""
    limits = {k: figure(profile, k) for k in PER_CORE}
    cost = profile.get("synapse_cost")
    weights = _Weights(plan)
    outgoing = {name: [s for s in plan.synapses if s.src == name] for name in plan.populations}
    violations, unchecked = [], [k for k, v in limits.items() if v is None]
    w_max = figure(profile, "weight_bits_max")
    if w_max is not None and weight_bits > w_max:
        violations.append(f"the exported weights use {weight_bits} bits; {profile['name']} allows {w_max} "
                          "(weight_bits_max)")
    fan_in = {name: _fan_in(plan, name) for name in plan.populations}
    stored = {name: _Stored(plan, name, weights) for name in plan.populations}
    k = {name: 1 for name in plan.populations}

    def per_core_use(name: str, cores: int) -> dict[str, float]:
        n = plan.populations[name].size
        n_c = math.ceil(n / cores)
        axons, bits = stored[name].use(cores, weight_bits, cost)
        use = {"neurons_per_core": n_c, "input_axons_per_core": axons}
        if cost is not None:
            use["synapse_memory_bits_per_core"] = bits
        per_neuron = sum((weights.reach(s, k[s.dst]) for s in outgoing[name]), np.zeros(n, np.int64))
        per_neuron += 1 if name in host_reads else 0
        use["output_axons_per_core"] = int(np.add.reduceat(per_neuron, weights.starts(name, cores)).max())
        return use

    def fits(name: str, cores: int) -> bool:
        use = per_core_use(name, cores)
        return all(limits[lim] is None or use[lim] <= limits[lim] for lim in use)

    changed = True
    while changed and not violations:
        changed = False
        for name, pop in plan.populations.items():
            need = stored[name].min_axons
            if limits["input_axons_per_core"] is not None and need > limits["input_axons_per_core"]:
                what = (f"fan-in of {need:,}" if need == fan_in[name]
                        else f"fan-in of {fan_in[name]:,} ({need:,} into its fullest neuron)")
                violations.append(f"{name}: {what} input axons exceeds the "
                                  f"{limits['input_axons_per_core']:,} input axons of a {profile['name']} core; "
                                  "no split of the population helps")
                break
            cores = k[name]
            while cores <= pop.size and not fits(name, cores):
                cores += 1
            if cores > pop.size:
                use = per_core_use(name, pop.size)
                over = [f"{lim} {use[lim]:,} > {limits[lim]:,}" for lim in use
                        if limits[lim] is not None and use[lim] > limits[lim]]
                violations.append(f"{name}: even one neuron per core exceeds {', '.join(over)}")
                break
            if cores != k[name]:
                k[name], changed = cores, True
    density = None
    if figure(profile, "neurons_per_chip") and figure(profile, "cores_per_chip") and limits["neurons_per_core"] is None:
        density = figure(profile, "neurons_per_chip") / figure(profile, "cores_per_chip")
    placements, next_core = [], 0
    for name, pop in plan.populations.items():
        cores = k[name] if density is None else max(k[name], math.ceil(pop.size / density))
        use = per_core_use(name, cores)
        ratios = {lim: use[lim] / limits[lim] for lim in use if limits[lim] is not None}
        split_by = []  # the limits one core fewer would exceed
        if density is not None:
            ratios[CHIP_AVERAGE] = math.ceil(pop.size / cores) / density
            split_by = [CHIP_AVERAGE] if cores > k[name] else []
        elif cores > 1:
            fewer = per_core_use(name, cores - 1)
            split_by = [lim for lim in fewer if limits[lim] is not None and fewer[lim] > limits[lim]]
        largest = max(ratios, key=ratios.get) if ratios else None
        binding = (max(split_by, key=ratios.get) if split_by
                   else largest if largest is not None and ratios[largest] >= BINDS_AT else None)
        placements.append(PopulationPlacement(
            name, pop.size, fan_in[name], stored[name].total, weight_bits, cores, math.ceil(pop.size / cores),
            binding, largest, {lim: round(r, 4) for lim, r in ratios.items()},
            list(range(next_core, next_core + cores))))
        next_core += cores
    total = next_core
    per_chip = figure(profile, "cores_per_chip")
    chips = math.ceil(total / per_chip) if per_chip else 1
    for lim, key in (("neurons_per_chip", "neurons"), ("synapses_per_chip", "synapses")):
        cap = figure(profile, lim)
        used = sum(getattr(p, key) for p in placements)
        if cap is not None:
            chips = max(chips, math.ceil(used / cap))
    if per_chip is None:
        unchecked.append("cores_per_chip")
    return {"populations": [asdict(p) for p in placements], "cores": total, "chips": chips,
            "cores_lower_bound": density is not None, "violations": violations, "unchecked": unchecked}
