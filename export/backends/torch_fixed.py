"""``torch-fixed``: the fixed-point integers in torch, Lava's bit-accurate arithmetic on CPU or CUDA
(:mod:`neuro_av.export.torch_fixed`); ``stats`` has the wrap and saturation counts."""
from __future__ import annotations

from neuro_av.export.plan import Record

DEVICE = "cpu"  # set by the caller (``neuro-av sim --device``) to run on a GPU


class TorchFixed:
    name = "torch-fixed"
    needs = ("nir", "lava")
    device = DEVICE

    def refusal(self, network) -> str | None:
        return None if network.fixed is not None else "no fixed-point plan exported"

    def run(self, network, streams, lanes=None, progress=None):
        from neuro_av.export.torch_fixed import run_fixed_torch

        rec, counts = run_fixed_torch(network.fixed, *streams, device=self.device)
        if progress:
            progress(streams.clips)
        return Record(rec.spikes, rec.voltages, {"device": self.device, "chip_counts": counts})
