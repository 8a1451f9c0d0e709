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

**Interrupts.** A terminal's Ctrl-C (SIGINT) and ``kill -TERM`` of a process group reach every
process Lava forked, not only the harness. Interrupted mid-message, those processes print a
traceback each and the harness's ``stop()`` then waits forever for answers they will not send. So,
for a command that runs Lava (:func:`guard_lava_processes`): forked processes ignore both signals
and die with their parent; the harness alone turns them into :class:`KeyboardInterrupt` (SIGTERM as
:class:`neuro_av.signals.Terminated`), and :func:`stopped_after` ends an interrupted network by
killing its processes instead of asking them to stop. Temporary folders (Lava's output files,
``multiprocessing``'s ``pymp-*``) go into one folder per process, ``neuro-av-<pid>-*`` in the
system's temporary folder, removed at exit; those of processes that no longer exist (killed with
SIGKILL) are removed by the next command that runs Lava.
"""
from __future__ import annotations

import atexit
import contextlib
import dataclasses
import functools
import importlib
import multiprocessing
import os
import re
import shutil
import signal
import sys
import tempfile
import time
import types

from neuro_av.io import pid_alive
from neuro_av.signals import INTERRUPTS, deferred, raise_on_sigterm

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
_temp_root: str | None = None
TEMP_PREFIX = "neuro-av-"  # neuro-av-<pid>-*: a process's temporary folder (and neuro-av-lava-<pid>-*, ...)
_OWNED_TEMP = re.compile(r"^neuro-av-(?:[a-z]+-)?(\d+)-")
ABORT_JOIN_S = 5.0  # how long a killed Lava process or a manager is waited for
_SOCKET_PATH_MAX = 107  # bytes in an AF_UNIX address (Linux), where multiprocessing's managers listen
_MP_SOCKET_TAIL = len("/pymp-xxxxxxxx/listener-xxxxxxxx")  # what multiprocessing adds to the temporary folder


def guard_lava_processes() -> None:
    """For a command that runs Lava (call it first): SIGTERM raises
    :class:`~neuro_av.signals.Terminated` (so ``finally`` blocks run), forked processes ignore SIGINT
    and SIGTERM and die with their parent (:func:`stop_children_with_parent`), and temporary folders
    go to this process's own (:func:`private_temp_folder`)."""
    raise_on_sigterm()
    stop_children_with_parent()
    private_temp_folder()
    _reap_resource_tracker_at_exit()


def _in_forked_child() -> None:
    """Run in every process forked after :func:`stop_children_with_parent`: killed with its parent,
    deaf to the terminal's signals (the parent stops it)."""
    _libc().prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    try:
        for sig in INTERRUPTS:
            signal.signal(sig, signal.SIG_IGN)
    except ValueError:  # forked from a thread other than the main one: they stay blocked (the fork's mask)
        return
    signal.pthread_sigmask(signal.SIG_UNBLOCK, INTERRUPTS)  # ignored now; the mask came from the fork


@functools.lru_cache(maxsize=None)
def _libc():
    import ctypes

    return ctypes.CDLL(None, use_errno=True)


def stop_children_with_parent() -> None:
    """Have every process forked from now on receive SIGKILL when its parent dies (Linux), and
    ignore SIGINT and SIGTERM.

    Lava runs each process of a network as a forked OS process. A harness that is killed outright
    (SIGKILL, OOM) cannot stop them, and they would linger; with this, the kernel ends them. SIGTERM
    and Ctrl-C are handled by the harness itself (:func:`stopped_after`).
    """
    global _pdeathsig_registered
    if _pdeathsig_registered or not sys.platform.startswith("linux"):
        return
    _libc()  # loaded here, not in every child
    # The interrupts are blocked across the fork: a SIGINT/SIGTERM handler that raised inside another
    # at-fork hook (logging's lock release) would be "ignored" by Python, and the command run on.
    os.register_at_fork(before=_block_interrupts, after_in_parent=_unblock_interrupts,
                        after_in_child=_in_forked_child)
    _pdeathsig_registered = True


def _block_interrupts() -> None:
    signal.pthread_sigmask(signal.SIG_BLOCK, INTERRUPTS)


def _unblock_interrupts() -> None:
    signal.pthread_sigmask(signal.SIG_UNBLOCK, INTERRUPTS)  # one that came meanwhile is raised now


def die_with_parent(parent_pid: int) -> None:
    """For a process started with ``subprocess`` (fork hooks do not run there): receive SIGKILL when
    the parent ``parent_pid`` dies, or exit now if it already has."""
    if not sys.platform.startswith("linux"):
        return
    _libc().prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    if os.getppid() != parent_pid:  # the parent died before the line above
        os._exit(128 + signal.SIGKILL)


_tracker_reaped_at_exit = False
TRACKER_WAIT_S = 2.0  # how long the resource tracker is given to exit after its pipe is closed


def _reap_resource_tracker_at_exit() -> None:
    global _tracker_reaped_at_exit
    if not _tracker_reaped_at_exit:
        atexit.register(stop_resource_tracker)
        _tracker_reaped_at_exit = True


def stop_resource_tracker(timeout: float = TRACKER_WAIT_S) -> bool:
    """End ``multiprocessing``'s resource tracker (it unlinks shared memory a killed Lava process left)
    and reap it; returns whether it is gone.

    It is started with ``fork``+``exec``, so it neither dies with this process nor is reaped by it: it
    exits when the last holder of its pipe does, and would stay a zombie in the process group under an
    init that never reaps (a container's). While a forked process still holds the pipe it cannot end,
    so it is then left to end with that process."""
    from multiprocessing import resource_tracker

    tracker = resource_tracker._resource_tracker
    if getattr(tracker, "_fd", None) is None or getattr(tracker, "_pid", None) is None:
        return True
    if multiprocessing.active_children():
        return False
    fd, pid = tracker._fd, tracker._pid
    tracker._fd = tracker._pid = None
    os.close(fd)
    deadline = time.monotonic() + timeout
    while True:
        try:
            if os.waitpid(pid, os.WNOHANG)[0]:
                return True
        except ChildProcessError:  # reaped already
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)


# -- temporary folders -----------------------------------------------------------------------------
def remove_stale_temp_folders(base: str | None = None) -> list[str]:
    """Remove ``neuro-av-<pid>-*`` folders in ``base`` (the system's temporary folder) whose process
    no longer exists; returns their paths. Folders of living processes, and any not named so, stay."""
    base = base or tempfile.gettempdir()
    removed = []
    try:
        entries = list(os.scandir(base))
    except OSError:
        return removed
    for entry in entries:
        m = _OWNED_TEMP.match(entry.name)
        if m and int(m.group(1)) != os.getpid() and not pid_alive(int(m.group(1))):
            try:
                if entry.is_dir(follow_symlinks=False):
                    shutil.rmtree(entry.path)
                else:
                    os.unlink(entry.path)
            except OSError:
                continue  # another user's, or being removed by another process
            removed.append(entry.path)
    return removed


def private_temp_folder() -> str:
    """This process's temporary folder, ``neuro-av-<pid>-*``, made the default of :mod:`tempfile` (so
    Lava's files and ``multiprocessing``'s ``pymp-*`` folders go there) and removed at exit. The first
    call also removes the folders of dead processes (:func:`remove_stale_temp_folders`).

    Sharp edge: a manager's socket lives in ``pymp-*`` and its path may not exceed 107 bytes; under a
    system temporary folder so deep that the extra level would break that, the system's is used."""
    global _temp_root
    if _temp_root is not None and os.path.isdir(_temp_root):
        return _temp_root
    base = tempfile.gettempdir()
    remove_stale_temp_folders(base)
    root = tempfile.mkdtemp(prefix=f"{TEMP_PREFIX}{os.getpid()}-", dir=base)
    if len(os.fsencode(root)) + _MP_SOCKET_TAIL > _SOCKET_PATH_MAX:
        os.rmdir(root)
        return base
    _temp_root = tempfile.tempdir = root
    atexit.register(_remove_temp_root, _temp_root, base)
    return _temp_root


def _remove_temp_root(root: str, base: str) -> None:
    shutil.rmtree(root, ignore_errors=True)
    if tempfile.tempdir == root:
        tempfile.tempdir = base


# -- ending a network ------------------------------------------------------------------------------
@contextlib.contextmanager
def stopped_after(process):
    """Stop the Lava network of ``process`` when the block ends: ``process.stop()`` after a normal end
    or an error, :func:`abort` after Ctrl-C or SIGTERM (``stop()`` would wait for answers from
    processes that may have been interrupted too)."""
    try:
        yield process
    except KeyboardInterrupt:
        abort(process)
        raise
    except BaseException:
        process.stop()
        raise
    process.stop()


class _Stopped:
    """Stands in for a runtime part :func:`abort` has ended, so Lava's own ``stop()`` (called again by
    ``Process.__del__``) finds nothing left to do."""

    actors: list = []

    def stop(self) -> None:
        pass

    def shutdown(self) -> None:
        pass


def _quietly(fn, *args) -> None:
    try:
        fn(*args)
    except Exception:  # a part that never started or is gone already: nothing to end
        pass


def abort(process) -> None:
    """End the network of ``process`` at once: its OS processes killed, the managers of its shared
    memory and watchdogs shut down (they ignore the terminal's signals, so they can still answer),
    and what is left of the runtime marked stopped. Any other process this one forked through
    ``multiprocessing`` and still running is killed last."""
    with deferred():
        runtime = getattr(process, "runtime", None)
        infra = getattr(runtime, "_messaging_infrastructure", None) if runtime is not None else None
        actors = list(getattr(infra, "actors", None) or [])
        for actor in actors:
            _quietly(actor.kill)
        for actor in actors:
            _quietly(multiprocessing.Process.join, actor, ABORT_JOIN_S)
        if infra is not None:
            _quietly(lambda: infra.smm.shutdown())
            infra._actors, infra._smm = [], _Stopped()
        if runtime is not None:
            watchdogs = getattr(runtime, "_watchdog_manager", None)
            if watchdogs is not None:
                _quietly(watchdogs.stop)
            runtime._watchdog_manager = _Stopped()
            runtime._is_started = runtime._is_running = False
            if infra is None:
                runtime._messaging_infrastructure = _Stopped()
        for child in multiprocessing.active_children():
            _quietly(child.kill)
            _quietly(child.join, ABORT_JOIN_S)
