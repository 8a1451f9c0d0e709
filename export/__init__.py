"""Deployment of the spiking branch (imports as ``neuro_av.export``).

``nir_graph`` (spiking branch ⇄ NIR), ``nir_reference`` (NumPy oracle of the NIR discretisation),
``lava_plan`` (NIR → Lava plan, NumPy reference), ``fixed_point`` (quantisation), ``lava_network`` (run
many clips per compiled Lava network, float or fixed), ``lava_dt_lif`` / ``lava_spike_writer`` (custom processes),
``netx_writer`` (chains → lava-dl netx ``.net``), ``lava_reference`` / ``lava_chain`` (oracle and runner
of Lava's Dense + LIF models), ``onnx_export`` (``pre`` / ``post`` → ONNX), ``hybrid`` (a trained run as
pre / branch / post), ``deploy`` (``neuro-av export``: every artefact plus measured fidelity). Lava and ONNX are imported inside the functions that use them.
"""
