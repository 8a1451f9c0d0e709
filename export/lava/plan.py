"""Compatibility names: the plan now lives in :mod:`neuro_av.export.plan`, its compiler in
:mod:`neuro_av.export.compile` and its NumPy reference in :mod:`neuro_av.export.reference`."""
from __future__ import annotations

from neuro_av.export.compile import NEURON_NODES, READOUT_NODES, SPIKING_NODES
from neuro_av.export.compile import compile_graph as plan_from_nir
from neuro_av.export.plan import SILENT_FLOAT, Population, Record, Synapse
from neuro_av.export.plan import Plan as LavaPlan
from neuro_av.export.reference import accumulate as _accumulate
from neuro_av.export.reference import simulate

__all__ = ["LavaPlan", "Population", "Record", "SILENT_FLOAT", "Synapse", "plan_from_nir", "simulate",
           "NEURON_NODES", "READOUT_NODES", "SPIKING_NODES", "_accumulate"]
