"""``LaneDense``: Lava's ``Dense`` for L lanes, with the synapse's bias column folded in.

Per time step and lane l (one clip per lane), as Lava's Dense, the output is the accumulation of
the *previous* step (the one-step synaptic delay)::

    a_out[l](t) = a_buff[l];   a_buff[l] ← W·s_in[l](t) + bias·bias_in[l](t)

``bias_in`` (L, 1) is 1 on the steps a lane's bias is on (a clip's valid steps) and 0 elsewhere; in
a stock Lava network the bias is a Dense column of its own fed by such a source, and the LIF sums
the two. Fixed point: ``W·s`` is shifted by ``weight_exp`` and the bias column by ``bias_exp``
(each as its own stock Dense would), after Lava's 8-bit clipping and truncation of each matrix.
``graded`` inputs carry values (Lava's ``num_message_bits`` > 0), otherwise binary spikes.

``delay`` k > 0 holds every accumulation k more steps before it is sent (a FIFO of k buffers), as a
synapse that skips layers needs so that its spikes arrive with the ones that went the long way.
"""
import numpy as np
from lava.magma.core.process.ports.ports import InPort, OutPort
from lava.magma.core.process.process import AbstractProcess
from lava.magma.core.process.variable import Var


class LaneDense(AbstractProcess):
    def __init__(self, *, lanes: int, weights, bias=None, weight_exp: int = 0, bias_exp: int = 0,
                 graded: bool = False, delay: int = 0, name: str | None = None):
        weights = np.asarray(weights)
        n_out, n_in = weights.shape
        bias = np.zeros(n_out) if bias is None else np.asarray(bias).ravel()
        super().__init__(weight_exp=int(weight_exp), bias_exp=int(bias_exp), graded=bool(graded),
                         delay=int(delay), name=name)
        self.s_in = InPort(shape=(int(lanes), n_in))
        self.bias_in = InPort(shape=(int(lanes), 1))
        self.a_out = OutPort(shape=(int(lanes), n_out))
        self.weights = Var(shape=weights.shape, init=weights)
        self.bias = Var(shape=(n_out,), init=bias)
        self.a_buff = Var(shape=(int(lanes), n_out), init=0)
