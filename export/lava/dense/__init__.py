"""``LaneDense``: Lava's Dense synapses with a lane axis and the synapse's bias column folded in.

Lava's compiler imports every module beside a Process to find its ProcessModels: this package holds
only ``process.py`` and ``models.py``. Import it after :func:`neuro_av.lava_compat.import_lava`.
"""
