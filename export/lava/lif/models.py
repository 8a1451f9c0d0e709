"""Float and bit-accurate fixed-point models of :class:`LaneLIF`.

Both reuse Lava's own LIF model bases (``lava.proc.lif.models``), so the sub-threshold dynamics,
12-bit decays, 24-bit state and 6-bit input shift are Lava's code; the arrays simply gain a lane
axis (Lava's element-wise NumPy broadcasts the (N,) parameters over it). What differs: the threshold
comes from ``th_in`` every step, a spike resets v to ``v_reset`` (Lava: 0), and the window reset.
"""
import numpy as np
from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.model.py.ports import PyInPort, PyOutPort
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol
from lava.proc.lif.models import AbstractPyLifModelFixed, AbstractPyLifModelFloat
from neuro_av.export.lava.lif.process import LaneLIF


def _window_reset(model) -> None:
    """u = 0 and v = v_init at the first step of the neuron's window (see the process docstring)."""
    interval = model.proc_params.get("reset_interval", 0)
    if interval and (model.time_step - 1) % interval == model.proc_params.get("reset_offset", 0):
        model.u[:] = 0
        model.v[:] = model.v_init


@implements(proc=LaneLIF, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyLaneLIFFloat(AbstractPyLifModelFloat):
    th_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    v_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    du: np.ndarray = LavaPyType(np.ndarray, float)
    dv: np.ndarray = LavaPyType(np.ndarray, float)
    vth: np.ndarray = LavaPyType(np.ndarray, float)
    v_reset: np.ndarray = LavaPyType(np.ndarray, float)
    v_init: np.ndarray = LavaPyType(np.ndarray, float)

    def run_spk(self):
        _window_reset(self)
        self.theta = self.th_in.recv()
        super().run_spk()
        self.v_out.send(self.v)

    def spiking_activation(self):
        return self.v > self.theta

    def reset_voltage(self, spike_vector: np.ndarray):
        self.v[:] = np.where(spike_vector, self.v_reset, self.v)


@implements(proc=LaneLIF, protocol=LoihiProtocol)
@requires(CPU)
@tag("bit_accurate_loihi", "fixed_pt")
class PyLaneLIFFixed(AbstractPyLifModelFixed):
    th_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=24)
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=24)
    v_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=24)
    du: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=12)
    dv: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=12)
    vth: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=17)
    v_reset: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=24)
    v_init: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=24)

    def scale_threshold(self):
        self.isthrscaled = True  # the threshold is streamed: scaled per step in run_spk

    def run_spk(self):
        _window_reset(self)
        self.effective_vth = np.left_shift(self.th_in.recv().astype(np.int64), self.vth_shift)
        super().run_spk()
        self.v_out.send(self.v)

    def spiking_activation(self):
        return self.v > self.effective_vth

    def reset_voltage(self, spike_vector: np.ndarray):
        self.v[:] = np.where(spike_vector, self.v_reset, self.v)
