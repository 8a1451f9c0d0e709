"""The one model of :class:`SpikeWriter`, for both floating- and fixed-point runs."""
import numpy as np
from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.model.py.model import PyLoihiProcessModel
from lava.magma.core.model.py.ports import PyInPort
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol

from neuro_av.export.lava_spike_writer.process import SpikeWriter


@implements(proc=SpikeWriter, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt", "fixed_pt")
class PySpikeWriterModel(PyLoihiProcessModel):
    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)

    def __init__(self, proc_params):
        super().__init__(proc_params)
        shape = (proc_params["steps"], int(np.prod(proc_params["shape"])))
        self.rows = np.memmap(proc_params["path"], dtype=np.uint8, mode="r+", shape=shape)

    def run_spk(self):
        spikes = self.a_in.recv()
        if self.time_step <= self.rows.shape[0]:
            self.rows[self.time_step - 1] = spikes != 0
