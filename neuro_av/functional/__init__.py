"""Pure step functions: dynamic-threshold LIF, GLP, TSF, EGM, DAB, Tucker fusion.

Each is ``f(inputs, [state], params) -> outputs``: no ``self``, no I/O, new state returned. The
``nn.Module`` wrappers in :mod:`neuro_av.models` hold parameters and the time loop.
"""
