"""``reference``: the plan in NumPy float64 (NIR's semantics as neuro-av discretises them)."""
from __future__ import annotations

from neuro_av.export.reference import simulate


class Reference:
    name = "reference"
    needs = ("nir",)

    def refusal(self, network) -> str | None:
        return None

    def run(self, network, streams, lanes=None, progress=None):
        rec = simulate(network.plan, *streams)
        if progress:
            progress(streams.clips)
        return rec
