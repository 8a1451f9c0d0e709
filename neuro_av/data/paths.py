"""One check of an input path, so a dangling link, a link loop, a folder or an unreadable file is
named as what it is instead of surfacing as a reader's traceback or as "missing"."""
from __future__ import annotations

import errno
import os
from pathlib import Path

from neuro_av.errors import DataError


def path_problem(path: Path, want: str = "file") -> str | None:
    """Why ``path`` cannot be read as a ``want`` ("file" or "folder"), or None when it can."""
    path = Path(path)
    try:
        st = path.stat()
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "is a symbolic link loop"
        if path.is_symlink():
            return f"is a dangling symbolic link (to {os.readlink(path)})"
        if exc.errno in (errno.ENOENT, errno.ENOTDIR):
            return "is missing"
        return f"cannot be read ({exc.strerror})"
    is_dir = os.path.isdir(path)
    if want == "file" and is_dir:
        return "is a folder, not a file"
    if want == "folder" and not is_dir:
        return "is a file, not a folder"
    if want == "file" and not os.path.isfile(path):
        return f"is not a regular file (mode {st.st_mode:o})"
    return None


def require(path: Path, what: str, want: str = "file", hint: str = "") -> Path:
    """``path`` if it can be read as a ``want``; else a :class:`DataError` naming ``what`` and why."""
    problem = path_problem(path, want)
    if problem:
        raise DataError(f"{what} {path} {problem}" + (f": {hint}" if hint else ""))
    return Path(path)
