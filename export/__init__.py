"""Deployment of the spiking branch (imports as ``neuro_av.export``).

``nir_graph`` (spiking branch ⇄ NIR), ``nir_semantics`` (NumPy oracle of the NIR discretisation,
straight from a graph), ``lava`` (the branch in Lava: plan, fixed point, network with lanes, oracle of
Lava's models, neuro-av's Lava processes), ``netx_writer`` (chains → lava-dl netx ``.net``),
``onnx_export`` (``pre`` / ``post`` → ONNX), ``hybrid`` (a trained run as pre / branch / post, and the
Norse reference), ``agreement`` (spike agreement between backends), ``deploy`` (``neuro-av export``:
every artefact with its measured fidelity, and reading an export back). Nothing here imports the
trainer: a run is read through :mod:`neuro_av.run`. Lava and ONNX are imported inside the functions
that use them.
"""
