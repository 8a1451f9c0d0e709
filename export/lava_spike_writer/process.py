"""``SpikeWriter``: row t − 1 of a uint8 file of shape (steps, N) receives the spikes of Lava step t.

``RingBuffer`` sinks hold spikes in a Var, and reading a Var costs ~15 µs per element; this sink
writes straight into a file the host created (``numpy.memmap``), which the host reads after the run.
"""
from lava.magma.core.process.ports.ports import InPort
from lava.magma.core.process.process import AbstractProcess


class SpikeWriter(AbstractProcess):
    def __init__(self, *, shape: tuple, path: str, steps: int, name: str | None = None):
        super().__init__(shape=shape, path=str(path), steps=int(steps), name=name)
        self.a_in = InPort(shape=shape)
