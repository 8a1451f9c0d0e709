"""``LaneLIF``: Lava's LIF dynamics for L lanes × N neurons, with per-neuron parameters.

Each lane is an independent clip; every lane runs the same neurons. Per time step and lane (the
update of ``lava.proc.lif.process.LIF``, whose model code the ProcessModels reuse)::

    u ← u·(1 − du) + a_in
    v ← v·(1 − dv) + u + bias                 bias = bias_mant (float) or bias_mant << bias_exp (fixed)
    s = v > θ_t                               θ_t = th_in (float) or th_in << 6 (fixed, like Lava's vth)
    v ← v_reset where s

``du``, ``dv``, ``bias_mant``, ``bias_exp``, ``v_reset`` and ``v_init`` are (N,) vectors shared by
the lanes; ``vth`` is the base threshold recorded with the process (the models read ``th_in``). In
fixed point, decays are 12-bit integers, u wraps and v saturates at 24 bits, exactly as Lava's
bit-accurate LIF.

**Windows.** With ``reset_interval`` P > 0, u is set to 0 and v to ``v_init`` at the start of every
step t (1-based Lava time step) with (t − 1) mod P = ``reset_offset``, before that step's input is
added: clips then run back to back through one compiled network, one window of P steps each.

``s_out`` carries the spikes and ``v_out`` the voltage after the step (after a reset): connect it
to read a population out as a leaky integrator.
"""
import numpy as np
from lava.magma.core.process.ports.ports import InPort, OutPort
from lava.magma.core.process.process import AbstractProcess
from lava.magma.core.process.variable import Var


class LaneLIF(AbstractProcess):
    def __init__(self, *, lanes: int, du, dv, vth, bias_mant, bias_exp, v_reset, v_init,
                 reset_interval: int = 0, reset_offset: int = 0, name: str | None = None):
        du = np.asarray(du).ravel()
        n = du.size
        shape = (int(lanes), n)
        super().__init__(shape=shape, reset_interval=reset_interval, reset_offset=reset_offset, name=name)
        self.a_in = InPort(shape=shape)
        self.th_in = InPort(shape=shape)
        self.s_out = OutPort(shape=shape)
        self.v_out = OutPort(shape=shape)
        self.u = Var(shape=shape, init=0)
        self.v = Var(shape=shape, init=np.broadcast_to(np.asarray(v_init), shape).copy())
        for key, value in (("du", du), ("dv", dv), ("vth", vth), ("bias_mant", bias_mant), ("bias_exp", bias_exp),
                           ("v_reset", v_reset), ("v_init", v_init)):
            setattr(self, key, Var(shape=(n,), init=np.broadcast_to(np.asarray(value), (n,)).copy()))
