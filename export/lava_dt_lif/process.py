"""``DynamicThresholdLIF``: Lava's LIF dynamics with the threshold streamed in through ``th_in``.

Per time step (same update as ``lava.proc.lif.process.LIF``)::

    u ← u·(1 − du) + a_in
    v ← v·(1 − dv) + u + bias
    s = v > θ_t          θ_t = th_in (float model) or th_in << 6 (fixed point, like Lava's vth)
    v ← 0 where s

``vth`` is the base threshold θ_0 recorded with the process (what a static-threshold reader of the
NIR graph would use); the models ignore it and read ``th_in``.

With ``reset_interval`` P > 0, u and v are set to 0 at the start of every step t (1-based Lava time
step) with (t − 1) mod P = ``reset_offset``, before that step's input is added: many clips then run
back to back through one compiled network, one window of P steps each.
"""
from lava.magma.core.process.ports.ports import InPort, OutPort
from lava.magma.core.process.process import AbstractProcess
from lava.magma.core.process.variable import Var


class DynamicThresholdLIF(AbstractProcess):
    def __init__(self, *, shape: tuple, du: float, dv: float, vth: float, bias_mant=0, bias_exp=0,
                 reset_interval: int = 0, reset_offset: int = 0, name: str | None = None):
        super().__init__(shape=shape, du=du, dv=dv, vth=vth, bias_mant=bias_mant, bias_exp=bias_exp,
                         reset_interval=reset_interval, reset_offset=reset_offset, name=name)
        self.a_in = InPort(shape=shape)
        self.th_in = InPort(shape=shape)
        self.s_out = OutPort(shape=shape)
        self.u = Var(shape=shape, init=0)
        self.v = Var(shape=shape, init=0)
        self.du = Var(shape=(1,), init=du)
        self.dv = Var(shape=(1,), init=dv)
        self.bias_mant = Var(shape=shape, init=bias_mant)
        self.bias_exp = Var(shape=shape, init=bias_exp)
        self.vth = Var(shape=(1,), init=vth)
