"""The one model of :class:`LaneWriter`, for floating- and fixed-point runs alike."""
import numpy as np
from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.model.py.model import PyLoihiProcessModel
from lava.magma.core.model.py.ports import PyInPort
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol
from neuro_av.export.lava.writer.process import LaneWriter


@implements(proc=LaneWriter, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt", "fixed_pt")
class PyLaneWriterModel(PyLoihiProcessModel):
    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)

    def __init__(self, proc_params):
        super().__init__(proc_params)
        dtype = np.dtype(proc_params["dtype"])
        self.spikes = dtype == np.uint8
        shape = (proc_params["steps"], *proc_params["shape"])
        self.rows = np.memmap(proc_params["path"], dtype=dtype, mode="r+", shape=shape)

    def run_spk(self):
        data = self.a_in.recv()
        if self.time_step <= self.rows.shape[0]:
            self.rows[self.time_step - 1] = (data != 0) if self.spikes else data
