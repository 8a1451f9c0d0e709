"""Make lava-nc 0.10 and lava-dl 0.6 import on Python 3.11 without editing site-packages.

Three shims, each applied lazily (only by code that is about to use Lava) and only once, and a guard
that stops the processes Lava forks when the harness dies (:func:`guard_lava_processes`):

1. ``ByteEncoder`` (lava-nc): ``lava/magma/compiler/var_model.py`` uses ``ByteEncoder()``, a plain
   ``@dataclass`` instance, as the default of fields of other dataclasses. Python 3.11 rejects
   defaults whose class has ``__hash__ = None`` ("mutable default ... use default_factory"), so
   every ``import lava.magma...`` fails. While that one module executes we hand it a ``dataclass``
   that adds ``unsafe_hash=True`` to ``ByteEncoder`` alone: the class gets a ``__hash__``, the
   3.11 check passes, and instances stay mutable as lava-nc expects. Python 3.10 needs nothing.
2. ``object_detection`` (lava-dl): ``lava/lib/dl/slayer/__init__.py`` imports its
   ``object_detection`` subpackage, which imports opencv and torchvision (not installed: the
   torchvision that pip would pick needs another torch). We register an empty placeholder module for it before
   slayer is imported; netx and the rest of slayer do not use it. Touching an attribute of the
   placeholder raises an ImportError that says why.

3. ``set_start_method('fork')`` (lava-nc): importing Lava's runtime calls
   ``multiprocessing.set_start_method('fork')`` without ``force``, which raises "context has already
   been set" once anything in the process has touched the default context (tqdm's write lock does).
   While that module executes, a call asking for the start method already in force is a no-op, and
   any other is forced — Lava needs ``fork`` either way.

Sharp edges: the shims must run before the first import of the module they guard; if someone
imported lava earlier in the process and it failed, that module is half-initialised and
``import_lava`` raises with the original error.
"""
from __future__ import annotations

import contextlib
import dataclasses
import importlib
import multiprocessing
import os
import sys
import types

_VAR_MODEL = "lava.magma.compiler.var_model"
_MP_INFRASTRUCTURE = "lava.magma.runtime.message_infrastructure.multiprocessing"
_OBJECT_DETECTION = "lava.lib.dl.slayer.object_detection"
_NEEDS_HASHABLE_DEFAULT = sys.version_info >= (3, 11)


def _dataclass_with_hashable_byte_encoder(original):
    def patched(cls=None, /, **kwargs):
        if cls is None:  # used as @dataclass(...)
            return lambda c: patched(c, **kwargs)
        if cls.__module__ == _VAR_MODEL and cls.__name__ == "ByteEncoder":
            kwargs.setdefault("unsafe_hash", True)
        return original(cls, **kwargs)

    return patched


@contextlib.contextmanager
def _hashable_byte_encoder():
    original = dataclasses.dataclass
    if _NEEDS_HASHABLE_DEFAULT:
        dataclasses.dataclass = _dataclass_with_hashable_byte_encoder(original)
    try:
        yield
    finally:
        dataclasses.dataclass = original


@contextlib.contextmanager
def _tolerant_start_method():
    original = multiprocessing.set_start_method

    def set_start_method(method, force=False):
        if multiprocessing.get_start_method(allow_none=True) != method:
            original(method, force=True)

    multiprocessing.set_start_method = set_start_method
    try:
        yield
    finally:
        multiprocessing.set_start_method = original


def import_lava() -> types.ModuleType:
    """Import ``lava.magma`` with the shims applied; returns the ``lava`` package."""
    if _VAR_MODEL not in sys.modules or _MP_INFRASTRUCTURE not in sys.modules:
        with _hashable_byte_encoder(), _tolerant_start_method():
            importlib.import_module(_VAR_MODEL)
            importlib.import_module(_MP_INFRASTRUCTURE)
    return importlib.import_module("lava")


class _MissingObjectDetection(types.ModuleType):
    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        raise ImportError(
            f"lava.lib.dl.slayer.object_detection.{name} is unavailable in neuro-av: that subpackage "
            "needs opencv and torchvision, which neuro-av does not install (see README, dependency notes)."
        )


def import_netx() -> types.ModuleType:
    """Import ``lava.lib.dl.netx`` (and slayer) without torchvision; returns the netx module."""
    import_lava()
    if _OBJECT_DETECTION not in sys.modules:
        sys.modules[_OBJECT_DETECTION] = _MissingObjectDetection(
            _OBJECT_DETECTION, "Placeholder registered by neuro_av.lava_compat (needs opencv and torchvision)."
        )
    return importlib.import_module("lava.lib.dl.netx")


_PR_SET_PDEATHSIG = 1
_pdeathsig_registered = False


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def guard_lava_processes() -> None:
    """For a command that runs Lava: SIGTERM becomes KeyboardInterrupt (so ``finally: stop()`` blocks
    run), and forked processes die with their parent (:func:`stop_children_with_parent`)."""
    import signal

    signal.signal(signal.SIGTERM, _interrupt)
    stop_children_with_parent()


def stop_children_with_parent() -> None:
    """Have every process forked from now on receive SIGKILL when its parent dies (Linux).

    Lava runs each process of a network as a forked OS process. A harness that is killed outright
    (SIGKILL, OOM) cannot stop them, and they would linger; with this, the kernel ends them. SIGTERM
    and Ctrl-C are handled by the harness itself (``finally: stop()``).
    """
    global _pdeathsig_registered
    if _pdeathsig_registered or not sys.platform.startswith("linux"):
        return
    import ctypes
    import signal

    libc = ctypes.CDLL(None, use_errno=True)

    def _arm():
        libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)

    os.register_at_fork(after_in_child=_arm)
    _pdeathsig_registered = True
