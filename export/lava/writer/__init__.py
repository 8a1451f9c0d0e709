"""``LaneWriter``: a sink that writes what arrives each step (spikes or voltages, every lane) into a
memory-mapped file the host reads after the run.

Lava's compiler imports every module beside a Process to find its ProcessModels: this package holds
only ``process.py`` and ``models.py``. Import it after :func:`neuro_av.lava_compat.import_lava`.
"""
