"""Co-simulation of the deployed hybrid (imports as ``neuro_av.sim``).

``shards`` (``neuro-av sim RUN``: reads ``RUN/export``, runs in one process, in ``--workers`` or under
torchrun, merges and reports), ``cosim`` (one shard: pre on the host, the spiking branch on norse /
lava-float / lava-fixed, post on the host), ``hosts`` (torch or ONNX for pre/post), ``counts``
(per-layer spikes, SynOps, neuron updates), ``energy`` (the cited per-operation model),
``gpu_energy`` (NVML), ``foreign`` (``neuro-av sim --nir``), ``report`` (report.json → report.md /
report.html, spikes.npz).
"""
