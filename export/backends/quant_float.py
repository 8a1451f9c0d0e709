"""``quant-float``: the fixed-point plan's rounded parameters with float state
(:mod:`neuro_av.export.quantised_float`), the rung between the reference and torch-fixed."""
from __future__ import annotations

from neuro_av.export.reference import simulate


class QuantFloat:
    name = "quant-float"
    needs = ("nir", "lava")

    def refusal(self, network) -> str | None:
        return None if network.fixed is not None else "no fixed-point plan exported"

    def run(self, network, streams, lanes=None, progress=None):
        from neuro_av.export.quantised_float import dequantised_plan

        rec = simulate(dequantised_plan(network.fixed), *streams)
        if progress:
            progress(streams.clips)
        return rec
