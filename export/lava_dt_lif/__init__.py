"""Lava LIF process whose threshold arrives through an in-port every step (neuro-av's dynamic threshold).

Lava's compiler imports every module beside a Process to find its ProcessModels: this package holds
only ``process.py`` and ``models.py``. Import it through :func:`neuro_av.lava_compat.import_lava` first.
"""
