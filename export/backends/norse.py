"""``norse``: the source's own forward pass (a run's Norse branch in float64, a user's Norse module)."""
from __future__ import annotations


class Norse:
    name = "norse"
    needs = ("nir",)

    def refusal(self, network) -> str | None:
        if network.forward is None:
            return "a NIR file has no Norse model of its own; its reference is `reference`"
        return None

    def run(self, network, streams, lanes=None, progress=None):
        rec = network.forward(streams)
        if progress:
            progress(streams.clips)
        return rec
