"""The one way neuro-av writes a file a later step trusts, and the folders it writes them into.

Files go to a temporary name beside the target, then are renamed: a crash, a kill or Ctrl-C midway
leaves the old file (or none), never a half-written one. ``os.replace`` is atomic on one file
system, which the temporary name beside the target guarantees. A write the disk refuses (full,
read-only, over the file-size limit, no permission) becomes a :class:`WriteError` naming the file.

An output folder is *owned* by the command that made it (a marker file, :func:`claim_folder`), is
written by one process at a time (:func:`folder_lock`), and loses the temporaries of killed
writers when it is next claimed (:func:`remove_stale_temporaries`).
"""
from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import re
import shutil
import time
from pathlib import Path
from typing import Any, Iterable, Iterator

from neuro_av.errors import NeuroAVError

MARKER = ".neuro-av"  # JSON {"command": ...}: which neuro-av command owns the folder
LOCK = ".neuro-av.lock"  # flock'ed by the process writing the folder; holds its pid
# errors of a disk that will not take the bytes, with what the user can do about each
DISK_ERRORS = {
    errno.ENOSPC: "free space there or choose another folder",
    errno.EDQUOT: "free space there or choose another folder",
    errno.EFBIG: "the file-size limit (ulimit -f) is smaller: raise it or choose another folder",
    errno.EROFS: "choose a writable folder",
    errno.EACCES: "choose a folder you can write",
    errno.EPERM: "choose a folder you can write",
}
_TMP = re.compile(r"^\..+\.tmp-(\d+)")  # what atomic_path names its temporaries


class WriteError(NeuroAVError, OSError):
    """The disk refused a write (full, read-only, file-size limit, permission)."""

    def __str__(self) -> str:  # OSError's would prefix "[Errno N]"
        return str(self.strerror)


class OutputError(NeuroAVError, ValueError):
    """An output folder neuro-av may not write: not its own, a file, or busy with another process."""


class FileFormatError(NeuroAVError, ValueError):
    """A file neuro-av reads is missing or is not what it should be; the message names it."""


def disk_error(path: Path, exc: OSError) -> WriteError | None:
    """The one-line error for ``exc`` raised while writing ``path``, or None when it is not a disk's refusal."""
    if exc.errno not in DISK_ERRORS:
        return None
    path = Path(path)  # named as the user will find it: an atomic_path temporary by its target's name
    target = re.match(r"^\.(.+)\.tmp-\d+", path.name)
    public = path.with_name(target.group(1)) if target else path
    return WriteError(exc.errno, f"cannot write {public}: {os.strerror(exc.errno)}; {DISK_ERRORS[exc.errno]}")


@contextlib.contextmanager
def atomic_path(path: Path, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it replaces ``path``, on error it is removed.

    ``suffix`` ends the temporary name, for writers that insist on one (``np.savez`` appends ``.npz``
    to any other name). A temporary *folder* works too: an existing folder at ``path`` is removed
    just before the rename."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}{suffix}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        yield tmp
        if tmp.is_dir() and path.is_dir():
            shutil.rmtree(path)
        os.replace(tmp, path)
    except OSError as exc:
        mapped = None if isinstance(exc, WriteError) else disk_error(path, exc)
        if mapped is None:
            raise
        raise mapped from None
    finally:
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)


def write_text(text: str, path: Path) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def write_bytes(data: bytes, path: Path) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_json(obj: Any, path: Path, indent: int | None = 2) -> None:
    """JSON with NumPy scalars written as plain numbers and anything else unknown as its ``str``."""
    write_text(json.dumps(obj, indent=indent, default=_plain) + "\n", path)


def save_npz(path: Path, arrays: dict, compressed: bool = False) -> None:
    import numpy as np

    with atomic_path(path, suffix=".npz") as tmp:
        (np.savez_compressed if compressed else np.savez)(tmp, **arrays)


def read_json(path: Path, what: str = "file", hint: str = "") -> Any:
    """The JSON in ``path``; missing, unreadable and invalid files each get their own one-line error."""
    path = Path(path)
    hint = f"; {hint}" if hint else ""
    if not path.exists():
        kind = f"is a dangling link to {os.readlink(path)}" if path.is_symlink() else "is missing"
        raise FileFormatError(f"{what} {path} {kind}{hint}")
    if path.is_dir():
        raise FileFormatError(f"{what} {path} is a folder, not a JSON file{hint}")
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise FileFormatError(f"cannot read {what} {path}: {exc.strerror}{hint}") from None
    except UnicodeDecodeError:
        raise FileFormatError(f"{what} {path} is not text (not UTF-8), so not JSON{hint}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise FileFormatError(f"{what} {path} is not valid JSON (line {exc.lineno}, column {exc.colno}: "
                              f"{exc.msg}){hint}") from None


# -- output folders -------------------------------------------------------------------------------
def folder_owner(folder: Path) -> str | None:
    """The command named by ``folder``'s marker, or None (no marker, or one that is not neuro-av's)."""
    try:
        info = json.loads((Path(folder) / MARKER).read_text())
    except (OSError, ValueError):
        return None
    return info.get("command") if isinstance(info, dict) else None


def foreign_entries(folder: Path, owned: Iterable[str]) -> list[str]:
    """Names in ``folder`` that are neither in ``owned`` nor neuro-av's marker, lock or temporaries."""
    keep = {*owned, MARKER, LOCK}
    return sorted(p.name for p in Path(folder).iterdir() if p.name not in keep and not _TMP.match(p.name))


def check_output_folder(folder: Path, flag: str = "--out") -> Path:
    """``folder`` as a path that can be a folder (not a file, not under a file); nothing is created."""
    folder = Path(folder)
    for p in (folder, *folder.parents):
        if p.exists() or p.is_symlink():
            if not p.is_dir():
                what = "is a file" if p == folder else f"lies under {p}, which is a file"
                raise OutputError(f"{flag} {folder} {what}: choose a folder")
            break
    return folder


def check_claim(folder: Path, command: str, force: bool = False, adopt: bool = False) -> Path:
    """Refuse ``folder`` (``--out``) when it is a file, or non-empty and not this command's (unless
    ``force``); writes nothing. ``adopt``: the caller recognised the contents as its own."""
    folder = check_output_folder(folder)
    if not folder.is_dir() or force or adopt or folder_owner(folder) == command:
        return folder
    present = [p.name for p in folder.iterdir() if p.name != LOCK]
    if present:
        owner = folder_owner(folder)
        by = f"was written by `neuro-av {owner}`" if owner else "was not written by neuro-av"
        shown = ", ".join(sorted(present)[:4]) + (", ..." if len(present) > 4 else "")
        raise OutputError(f"--out {folder} is not empty and {by} (it holds {shown}): choose another folder, "
                          f"or pass --force to write there (it replaces only the files `neuro-av {command}` writes)")
    return folder


def claim_folder(folder: Path, command: str, owned: Iterable[str], force: bool = False,
                 adopt: bool = False) -> None:
    """Make ``folder`` this command's: create it, or accept it when empty or already its own (see
    :func:`check_claim`); ``force`` removes only the ``owned`` names (what this command writes)
    and keeps everything else."""
    folder = check_claim(folder, command, force, adopt)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        if force:
            for name in owned:
                p = folder / name
                if p.is_dir() and not p.is_symlink():
                    shutil.rmtree(p)
                else:
                    p.unlink(missing_ok=True)
    except OSError as exc:
        raise (disk_error(folder, exc) or exc) from None
    write_json({"command": command, "claimed": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "pid": os.getpid()},
               folder / MARKER)


@contextlib.contextmanager
def folder_lock(folder: Path, what: str = "--out") -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``folder/.neuro-av.lock``; a second process gets an :class:`OutputError`.

    The kernel drops the lock when its holder dies (even by SIGKILL), so a stale lock file never blocks."""
    folder = Path(folder)
    path = folder / LOCK
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise (disk_error(folder, exc) or exc) from None
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise (disk_error(path, exc) or exc) from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            raise OutputError(f"{what} {folder} is being written by another neuro-av process (pid {holder}): "
                              "wait for it to finish, or choose another folder") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        os.close(fd)  # releases the flock


def remove_stale_temporaries(folder: Path) -> list[Path]:
    """Remove ``atomic_path`` temporaries in ``folder`` whose writer process no longer exists."""
    removed = []
    folder = Path(folder)
    if not folder.is_dir():
        return removed
    for p in folder.iterdir():
        m = _TMP.match(p.name)
        if m and not _alive(int(m.group(1))):
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p, ignore_errors=True)
            else:
                p.unlink(missing_ok=True)
            removed.append(p)
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return False  # this process is not writing it yet: a leftover of an earlier process with our pid
    return pid_alive(pid)


def pid_alive(pid: int) -> bool:
    """Whether a process ``pid`` exists (one of another user's counts as alive)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _plain(value):
    if hasattr(value, "item") and getattr(value, "ndim", 1) == 0:
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)


def notice(message: str) -> None:
    """A line on stderr about something neuro-av handled (rank 0 only under torchrun)."""
    import sys

    if int(os.environ.get("RANK", 0)) == 0:
        print(f"neuro-av: notice: {message}", file=sys.stderr, flush=True)
