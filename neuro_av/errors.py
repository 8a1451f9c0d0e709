"""Errors a user can act on.

The CLI prints the message of a :class:`NeuroAVError` (which names the file, field or value and says
what to do) as one line and exits with status 2. Any other exception is a bug in neuro-av or in a
library under it, and keeps its traceback. The subclasses also derive from the built-in type a
caller would expect (``ValueError``, ``RuntimeError``), so ``except ValueError`` still catches them.
"""


class NeuroAVError(Exception):
    """Base of neuro-av's user-facing errors."""


class ConfigError(NeuroAVError, ValueError):
    """A setting (command-line flag, ``--set key=value``, config field) has a value neuro-av cannot use."""


class DataError(NeuroAVError, ValueError):
    """A dataset folder or input file cannot be used as it is; the message names the file."""


class RunError(NeuroAVError, ValueError):
    """A run folder or its checkpoint cannot be used (missing, truncated, from another model)."""


class ExportError(NeuroAVError, ValueError):
    """A network neuro-av cannot write, read or map to Lava; the message lists what to change."""


class MemoryNeedError(NeuroAVError, MemoryError):
    """A step would need more memory than the machine has; raised before it allocates, naming what needs it."""
