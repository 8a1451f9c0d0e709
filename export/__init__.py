"""Deployment of the spiking branch (imports as ``neuro_av.export``).

``nir_graph`` (spiking branch ⇄ NIR), ``nir_reference`` (NumPy oracle of the NIR discretisation),
``lava_builder`` (NIR → Lava float), ``lava_dt_lif`` (Lava LIF with a threshold in-port),
``lava_reference`` / ``lava_chain`` (oracle and runner of Lava's Dense + LIF models), ``onnx_export``
(``pre`` / ``post`` → ONNX). Lava and ONNX are imported inside the functions that use them.
"""
