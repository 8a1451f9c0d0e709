"""``lava-float`` and ``lava-fixed``: the plan (float) or its fixed-point integers (Loihi's bit-accurate
arithmetic) in Lava, many clips per Lava time step (:mod:`neuro_av.export.lava.network`)."""
from __future__ import annotations

from neuro_av.export.plan import Record


def _run(plan, streams, lanes, progress) -> Record:
    from neuro_av.export.lava.network import run_plan

    res = run_plan(plan, *streams, lanes=lanes, progress=progress)
    return Record(res.spikes, res.voltages, {"lanes": res.lanes, "builds": res.builds, "lava_steps": res.lava_steps,
                                             "build_s": res.build_s, "run_s": res.run_s})


class LavaFloat:
    name = "lava-float"
    needs = ("nir", "lava")  # the export's Lava check measured it

    def refusal(self, network) -> str | None:
        return network.plan.lava_refusal

    def run(self, network, streams, lanes=None, progress=None):
        return _run(network.plan, streams, lanes, progress)


class LavaFixed:
    name = "lava-fixed"
    needs = ("nir", "lava")

    def refusal(self, network) -> str | None:
        return network.plan.lava_refusal or (None if network.fixed is not None else "no fixed-point plan exported")

    def run(self, network, streams, lanes=None, progress=None):
        return _run(network.fixed, streams, lanes, progress)
