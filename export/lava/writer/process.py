"""``LaneWriter``: row t − 1 of a file of shape (steps, L, N) receives what arrives at Lava step t.

``RingBuffer`` sinks hold their data in a Var, and reading a Var costs ~15 µs per element; this sink
writes straight into a file the host created (``numpy.memmap``) and reads after the run. ``dtype``:
``uint8`` for spikes (anything non-zero is a spike), ``float64`` / ``int64`` for voltages.
"""
from lava.magma.core.process.ports.ports import InPort
from lava.magma.core.process.process import AbstractProcess


class LaneWriter(AbstractProcess):
    def __init__(self, *, shape: tuple, path: str, steps: int, dtype: str = "uint8", name: str | None = None):
        super().__init__(shape=tuple(shape), path=str(path), steps=int(steps), dtype=str(dtype), name=name)
        self.a_in = InPort(shape=tuple(shape))
