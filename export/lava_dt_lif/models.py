"""Float and bit-accurate fixed-point models of :class:`DynamicThresholdLIF`.

Both reuse Lava's own LIF model bases (``lava.proc.lif.models``), so the sub-threshold dynamics,
12-bit decays, 24-bit state and 6-bit input shift are Lava's; only the threshold comes from the
``th_in`` port each step instead of the ``vth`` Var.
"""
import numpy as np
from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.model.py.ports import PyInPort, PyOutPort
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol
from lava.proc.lif.models import AbstractPyLifModelFixed, AbstractPyLifModelFloat

from neuro_av.export.lava_dt_lif.process import DynamicThresholdLIF


def _window_reset(model) -> None:
    """Zero u and v at the first step of the neuron's window (see the process docstring)."""
    interval = model.proc_params.get("reset_interval", 0)
    if interval and (model.time_step - 1) % interval == model.proc_params.get("reset_offset", 0):
        model.u[:] = 0
        model.v[:] = 0


@implements(proc=DynamicThresholdLIF, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyDynamicThresholdLIFFloat(AbstractPyLifModelFloat):
    th_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    vth: float = LavaPyType(float, float)

    def run_spk(self):
        _window_reset(self)
        self.theta = self.th_in.recv()
        super().run_spk()

    def spiking_activation(self):
        return self.v > self.theta


@implements(proc=DynamicThresholdLIF, protocol=LoihiProtocol)
@requires(CPU)
@tag("bit_accurate_loihi", "fixed_pt")
class PyDynamicThresholdLIFFixed(AbstractPyLifModelFixed):
    th_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=24)
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=24)
    vth: int = LavaPyType(int, np.int32, precision=17)

    def scale_threshold(self):
        self.isthrscaled = True  # the threshold is streamed: scaled per step in run_spk

    def run_spk(self):
        _window_reset(self)
        self.effective_vth = np.left_shift(self.th_in.recv().astype(np.int64), self.vth_shift)
        super().run_spk()

    def spiking_activation(self):
        return self.v > self.effective_vth
