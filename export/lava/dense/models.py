"""Float and bit-accurate fixed-point models of :class:`LaneDense`.

Each lane computes exactly what Lava's own Dense models (``lava.proc.dense.models``) compute for one
input vector — the float model loops over the lanes and adds the same terms in the same order as
Lava's expressions, so the floating point sums are the same, bit for bit; the fixed-point model
multiplies all lanes at once (integer sums do not depend on their order) and wraps graded
accumulations to 32 bits as NumPy's int32 dot product does in Lava's model.
"""
import numpy as np
from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.model.py.model import PyLoihiProcessModel
from lava.magma.core.model.py.ports import PyInPort, PyOutPort
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol
from lava.utils.weightutils import clip_weights, determine_sign_mode, truncate_weights
from neuro_av.export.lava.dense.process import LaneDense

WEIGHT_BITS = 8
EXACT_INPUTS = 2**20  # 2^8 (weight) · 2^24 (input) · 2^20 (inputs) < 2^53: float64 sums of such products are exact


@implements(proc=LaneDense, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyLaneDenseFloat(PyLoihiProcessModel):
    s_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    bias_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    a_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    weights: np.ndarray = LavaPyType(np.ndarray, float)
    bias: np.ndarray = LavaPyType(np.ndarray, float)
    a_buff: np.ndarray = LavaPyType(np.ndarray, float)

    def __init__(self, proc_params):
        super().__init__(proc_params)
        self.weights_t = None
        self.queue = []

    def run_spk(self):
        self.a_out.send(_delayed(self, self.a_buff))
        s_in, on = self.s_in.recv(), self.bias_in.recv()[:, 0] != 0
        if self.proc_params["graded"]:
            acc = [self.weights.dot(s) for s in s_in]  # Lava: weights.dot(s_in)
        else:
            # Lava: weights[:, s_in].sum(axis=1). That fancy index returns the selected columns in
            # Fortran order, i.e. the very memory of weights.T[s_in] (C order), and the sum adds them
            # one after another in input order; weights.T[s_in].sum(axis=0) performs the same additions
            # in the same order, about twice as fast (the gather copies whole rows). Tested equal.
            if self.weights_t is None:
                self.weights_t = np.ascontiguousarray(self.weights.T)
            acc = [self.weights_t[s.astype(bool)].sum(axis=0) for s in s_in]
        # the bias column: a binary Dense whose one input is on, summed into the LIF's input after the weights
        self.a_buff = np.stack([a + self.bias if o else a for a, o in zip(acc, on)])


def _delayed(model, a_buff: np.ndarray) -> np.ndarray:
    """What to send this step: ``a_buff`` itself, or the one ``delay`` steps older (zeros at first)."""
    delay = model.proc_params.get("delay", 0)
    if not delay:
        return a_buff
    model.queue.append(np.array(a_buff, copy=True))
    if len(model.queue) <= delay:
        return np.zeros_like(a_buff)
    return model.queue.pop(0)


def _shift(acc: np.ndarray, exp: int) -> np.ndarray:
    return np.left_shift(acc, exp) if exp > 0 else np.right_shift(acc, -exp)


def _exact_product(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Integer x @ w.T through float64 BLAS where every partial sum stays below 2^53 (exact), else in int64."""
    if x.shape[1] <= EXACT_INPUTS and np.abs(x).max(initial=0) < 2**24:
        return (x.astype(np.float64) @ w.T.astype(np.float64)).astype(np.int64)
    return x.astype(np.int64) @ w.T


def _lava_weights(w: np.ndarray) -> np.ndarray:
    """What Lava's bit-accurate Dense does to its weights before the first step."""
    sign_mode = determine_sign_mode(w)
    return truncate_weights(clip_weights(w, sign_mode, num_bits=WEIGHT_BITS), sign_mode, WEIGHT_BITS)


@implements(proc=LaneDense, protocol=LoihiProtocol)
@requires(CPU)
@tag("bit_accurate_loihi", "fixed_pt")
class PyLaneDenseFixed(PyLoihiProcessModel):
    s_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=24)
    bias_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=1)
    a_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=16)
    weights: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=8)
    bias: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=8)
    a_buff: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=16)

    def __init__(self, proc_params):
        super().__init__(proc_params)
        self.ready = False
        self.queue = []

    def run_spk(self):
        if not self.ready:
            self.w64 = _lava_weights(self.weights).astype(np.int64)
            self.b64 = _lava_weights(self.bias[:, None])[:, 0].astype(np.int64)
            self.ready = True
        self.a_out.send(_delayed(self, self.a_buff))
        s_in, on = self.s_in.recv(), self.bias_in.recv()[:, 0] != 0
        if self.proc_params["graded"]:
            acc = _exact_product(s_in, self.w64).astype(np.int32)  # Lava's int32 dot, wrapping alike
        else:
            acc = _exact_product((s_in != 0).astype(np.int64), self.w64)
        acc = _shift(acc, self.proc_params["weight_exp"])
        bias = _shift(self.b64, self.proc_params["bias_exp"])
        self.a_buff = acc + on[:, None] * bias
