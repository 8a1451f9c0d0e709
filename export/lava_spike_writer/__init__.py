"""Lava sink that writes each step's spikes into a memory-mapped file (no per-element ``Var.get``).

Lava's compiler imports every module beside a Process to find its ProcessModels: this package holds
only ``process.py`` and ``models.py``.
"""
