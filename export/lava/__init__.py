"""The spiking branch in Lava (imports as ``neuro_av.export.lava``).

``plan`` (NIR → Lava plan in float units, NumPy reference), ``fixed_point`` (quantisation for Lava's
bit-accurate models, and its counts), ``network`` (build and run a plan with many clips per Lava
time step), ``oracle`` (NumPy oracle of Lava's Dense and LIF models, float and fixed point), and
neuro-av's own Lava processes, each in its own package as Lava's compiler wants: ``lif``
(``LaneLIF``), ``dense`` (``LaneDense``), ``writer`` (``LaneWriter``). Lava itself is imported only
by ``network`` and the process packages, after :func:`neuro_av.lava_compat.import_lava`.
"""
