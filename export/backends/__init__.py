"""Backends of the spiking branch: one file each, one registry line each.

A backend runs a :class:`Deployable` (the compiled plan, its fixed-point integers when exported, and
the source's own forward pass where there is one) on :class:`~neuro_av.export.plan.Streams` and
returns a :class:`~neuro_av.export.plan.Record` in the reference time alignment. It declares what it
needs from ``neuro-av export`` (``needs``: targets) and whether it applies to a network
(``refusal``). Export's fidelity check and ``neuro-av sim`` both call :func:`run`.

To add a backend: a file here with a class offering ``name``, ``needs``, ``refusal(network)`` and
``run(network, streams, lanes, progress)``, and one line in :data:`REGISTRY`.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Protocol

import nir

from neuro_av.errors import NeuroAVError
from neuro_av.export.plan import Plan, Record, Streams


@dataclass
class Deployable:
    """A network ready for the backends. ``forward``: the source's own forward pass (a run's Norse
    branch, a user's Norse module), None for a NIR file; ``fixed``: the exported fixed-point plan."""

    graph: nir.NIRGraph
    plan: Plan
    fixed: object | None = None
    forward: Callable[[Streams], Record] | None = None
    kind: str = "nir"  # run | module | nir

    @property
    def reference(self) -> str:
        return "norse" if self.forward is not None else "reference"


class Backend(Protocol):
    name: str
    needs: tuple[str, ...]

    def refusal(self, network: Deployable) -> str | None: ...

    def run(self, network: Deployable, streams: Streams, lanes: int | None = None,
            progress: Callable[[int], None] | None = None) -> Record: ...


class BackendError(NeuroAVError, ValueError):
    pass


def _registry() -> dict[str, Backend]:
    from neuro_av.export.backends.lava import LavaFixed, LavaFloat
    from neuro_av.export.backends.norse import Norse
    from neuro_av.export.backends.quant_float import QuantFloat
    from neuro_av.export.backends.reference import Reference
    from neuro_av.export.backends.torch_fixed import TorchFixed

    return {b.name: b for b in (Norse(), Reference(), LavaFloat(), QuantFloat(), LavaFixed(), TorchFixed())}


REGISTRY: dict[str, Backend] = {}


def registry() -> dict[str, Backend]:
    if not REGISTRY:
        REGISTRY.update(_registry())
    return REGISTRY


NAMES = ("norse", "reference", "lava-float", "quant-float", "lava-fixed", "torch-fixed")  # the CLI's choices, in report order


def get(name: str) -> Backend:
    reg = registry()
    if name not in reg:
        raise BackendError(f"unknown backend {name!r}; choose from {', '.join(reg)}")
    return reg[name]


def applicable(network: Deployable, names=None) -> tuple[str, ...]:
    """The backends (of ``names``, default all) that can run ``network``, reference first."""
    names = tuple(names or registry())
    return tuple(n for n in sorted(names, key=lambda n: n != network.reference) if get(n).refusal(network) is None)


def choose(network: Deployable, asked: list[str] | None) -> tuple[str, ...]:
    """``asked`` (or all) checked against ``network``: a clear error for one that cannot run it."""
    if not asked or "all" in asked:
        return applicable(network)
    out = []
    for name in dict.fromkeys(asked):
        why = get(name).refusal(network)
        if why:
            raise BackendError(f"--backend {name}: {why}")
        out.append(name)
    return tuple(out)


def needs(names) -> tuple[str, ...]:
    """Export targets the backends need."""
    return tuple(dict.fromkeys(t for n in names for t in get(n).needs))


def run(names, network: Deployable, streams: Streams, lanes: int | None = None,
        bar: Callable[[str, int], object] | None = None) -> dict[str, Record]:
    """Every backend of ``names`` on ``streams``; each record's ``stats`` has ``seconds``. ``bar(name,
    clips)`` makes a progress bar (``update(n)``, ``close()``) for each backend."""
    out = {}
    for name in names:
        t0 = time.perf_counter()
        progress = bar(name, streams.clips) if bar else None
        try:
            rec = get(name).run(network, streams, lanes, progress.update if progress else None)
        finally:
            if progress:
                progress.close()
        out[name] = Record(rec.spikes, rec.voltages, {**(rec.stats or {}), "seconds": time.perf_counter() - t0})
    return out
