"""The output folder of ``export`` and ``sim``: owned, locked, written in private, published whole.

``with output_folder(out, "sim", owned) as stage:`` — in order:

1. ``out`` is refused when it is a file, or not empty and not this command's (no marker of it, and
   the caller does not recognise the contents as its own): one line naming the folder and what it
   holds (:func:`neuro_av.io.check_claim`); nothing is written. ``force`` takes it over.
2. ``out`` is locked (:func:`neuro_av.io.folder_lock`): a second process writing it gets a one-line
   error; it is marked as the command's (:func:`neuro_av.io.claim_folder`) and loses the temporaries
   of killed writers (:func:`neuro_av.io.remove_stale_temporaries`).
3. The block writes into ``stage``, a private folder inside ``out`` (``.<command>.tmp-<pid>``).
4. When the block ends normally, the command's files of an earlier run that this one did not write
   again (``owned(out)``, e.g. a ``spikes.npz``) are removed and the stage's files are moved into
   ``out``, the ``last`` ones (what a later step trusts: ``manifest.json``, ``report.json``) removed
   first and moved in last. Ctrl-C and SIGTERM wait until that is done (milliseconds).
5. After an error or an interrupt nothing is published: the stage is removed, and so is ``out``
   when this call created it.

:func:`interrupted` is the one line a command prints after Ctrl-C or SIGTERM, saying what was kept.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import sys
from pathlib import Path
from typing import Callable, Iterable, Iterator

from neuro_av.io import (
    LOCK,
    MARKER,
    WriteError,
    check_claim,
    claim_folder,
    disk_error,
    folder_lock,
    remove_stale_temporaries,
)
from neuro_av.signals import deferred, exit_status

PUBLISHED: list[Path] = []  # folders this process has published into (for the line after an interrupt)


@contextlib.contextmanager
def output_folder(folder: Path, command: str, owned: Callable[[Path], Iterable[str]], force: bool = False,
                  adopt: bool = False, last: tuple[str, ...] = (), what: str = "--out") -> Iterator[Path]:
    """Yield a private staging folder inside ``folder``; publish it into ``folder`` when the block ends
    normally (see the module docstring). ``owned(folder)``: the names this command writes there, read
    under the lock just before publishing."""
    folder = check_claim(Path(folder), command, force, adopt)
    created = not folder.exists()
    published = False
    with folder_lock(folder, what):
        stage = folder / f".{command}.tmp-{os.getpid()}"
        try:
            claim_folder(folder, command, (), force=force, adopt=adopt)
            remove_stale_temporaries(folder)
            _disk(folder, _fresh, stage)
            try:
                yield stage
            except WriteError as exc:  # named where the user will look: in the folder, not the private stage
                raise WriteError(exc.errno, str(exc).replace(f"{stage}{os.sep}", f"{folder}{os.sep}")) from None
            with deferred():
                _disk(folder, _publish, stage, folder, set(owned(folder)), last)
                published = True
                PUBLISHED.append(folder)
        finally:
            shutil.rmtree(stage, ignore_errors=True)
            if created and not published:
                _remove_if_only_ours(folder)


def _disk(folder: Path, fn, *args) -> None:
    """``fn(*args)``, a write into ``folder`` whose refusal by the disk becomes one line."""
    try:
        fn(*args)
    except OSError as exc:
        mapped = disk_error(folder, exc)
        if mapped is None:
            raise
        raise mapped from None


def _fresh(stage: Path) -> None:
    if stage.exists():  # left by an earlier process with this pid
        shutil.rmtree(stage)
    stage.mkdir()


def _publish(stage: Path, folder: Path, owned: set[str], last: tuple[str, ...]) -> None:
    new = sorted(p.name for p in stage.iterdir() if not p.name.startswith("."))
    for name in (*last, *sorted(owned - set(new))):  # the index first: a crash midway leaves none to trust
        _remove(folder / name)
    for name in [n for n in new if n not in last] + [n for n in last if n in new]:
        src, dst = stage / name, folder / name
        if src.is_dir() and dst.is_dir() and not dst.is_symlink():
            shutil.rmtree(dst)
        os.replace(src, dst)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


def _remove_if_only_ours(folder: Path) -> None:
    """A folder this call created and did not publish into: its marker and lock go, then the folder."""
    with contextlib.suppress(OSError):
        if {p.name for p in folder.iterdir()} <= {MARKER, LOCK}:
            for name in (MARKER, LOCK):
                (folder / name).unlink(missing_ok=True)
            folder.rmdir()


def interrupted(command: str, folder: Path | None, exc: BaseException) -> int:
    """Print the one line after Ctrl-C / SIGTERM (what, if anything, was written) and return the exit
    status: 130 after SIGINT, 143 after SIGTERM."""
    if folder is not None and Path(folder) in PUBLISHED:
        kept = f"the results were written to {folder} just before"
    else:
        kept = f"nothing written to {folder}" if folder is not None else "nothing written"
        if PUBLISHED:
            kept += f" (kept: {', '.join(map(str, PUBLISHED))}, finished before the interrupt)"
    print(f"neuro-av {command}: interrupted; {kept}", file=sys.stderr, flush=True)
    return exit_status(exc)
