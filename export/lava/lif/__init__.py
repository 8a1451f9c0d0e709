"""``LaneLIF``: a LIF population with a lane axis (one clip per lane), per-neuron parameters and a
threshold streamed in every step.

Lava's compiler imports every module beside a Process to find its ProcessModels: this package holds
only ``process.py`` and ``models.py``. Import it after :func:`neuro_av.lava_compat.import_lava`.
"""
