"""Loihi's fixed-point formats as Lava's bit-accurate models use them (lava-nc 0.10
``lava/proc/lif/models.py``, ``lava/proc/dense/models.py``), defined once, importing nothing: the
NumPy oracle, the quantiser, torch-fixed and the differentiable forward all read them here."""

DECAY_BITS = 12
DECAY_UNITY = 2**DECAY_BITS  # a 12-bit decay of DECAY_UNITY empties the state in one step
CURRENT_DECAY_OFFSET = 1  # Loihi's ds_offset: du + 1 is the effective current decay
ACTIVATION_SHIFT = 6  # synaptic input is MSB-aligned by 6 bits
THRESHOLD_SHIFT = 6  # so is the threshold
STATE_BITS = 24  # u and v registers
WEIGHT_BITS = 8
THRESHOLD_PRECISION_BITS = 17  # the vth register (unsigned)
MAX_WEIGHT_MANTISSA = 2**WEIGHT_BITS - 2  # mixed-sign matrices lose their LSB: even values up to 254
# A synapse's shared weight exponent (a_in = Σ w_mant << weight_exp) is Loihi's wgtExp, a 4-bit signed
# field: -8 … 7 (nengo-loihi's SynapseFmt names wgtExp; its discretize.py searches it from 0 down to -7; no
# Intel document with the range was found, so this is a reconstruction held in one place). Lava's bit-accurate Dense
# shifts by any int, so the quantiser must keep it in the register.
WEIGHT_EXP_MIN = -8
WEIGHT_EXP_MAX = 7
SILENT_FIXED = 2 ** (STATE_BITS - 1 - THRESHOLD_SHIFT)  # (x << 6) exceeds every 24-bit voltage
