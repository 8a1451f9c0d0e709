"""Ctrl-C and SIGTERM as exceptions, so that ``finally`` blocks run and a command ends with one line.

Python turns SIGINT into :class:`KeyboardInterrupt`; :func:`raise_on_sigterm` turns SIGTERM into its
subclass :class:`Terminated`, so one ``except KeyboardInterrupt`` handles both and
:func:`exit_status` gives the shell's status (130 after SIGINT, 143 after SIGTERM).
:func:`deferred` holds both back during a block that must not be cut in half.
"""
from __future__ import annotations

import contextlib
import signal
import threading
from typing import Iterator

INTERRUPTS = (signal.SIGINT, signal.SIGTERM)


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the main thread was, as Ctrl-C raises :class:`KeyboardInterrupt`."""

    signum = signal.SIGTERM


def exit_status(exc: BaseException) -> int:
    """The shell's status for a command ended by ``exc``: 143 after SIGTERM, 130 after SIGINT."""
    return 128 + int(getattr(exc, "signum", signal.SIGINT))


def _raise_terminated(signum, frame):
    raise Terminated()


def on_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def raise_on_sigterm() -> None:
    """From now on SIGTERM raises :class:`Terminated` in the main thread (signal handlers live there)."""
    if on_main_thread():
        signal.signal(signal.SIGTERM, _raise_terminated)


@contextlib.contextmanager
def deferred() -> Iterator[None]:
    """SIGINT and SIGTERM that arrive during the block are raised when it ends, through the handlers
    that were in force before it (a clean-up or a publish must not stop halfway)."""
    if not on_main_thread():
        yield
        return
    got: list[int] = []
    previous = {s: signal.getsignal(s) for s in INTERRUPTS}
    for s in INTERRUPTS:
        signal.signal(s, lambda signum, frame: got.append(signum))
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        if got:
            handler = previous[got[-1]]
            if callable(handler):
                handler(got[-1], None)  # raises KeyboardInterrupt (SIGINT) or Terminated (SIGTERM)
            elif got[-1] == signal.SIGINT and handler != signal.SIG_IGN:
                raise KeyboardInterrupt
