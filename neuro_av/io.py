"""The one way neuro-av writes a file a later step trusts: to a temporary name beside it, then renamed.

A crash, a kill or Ctrl-C midway leaves the old file (or none), never a half-written one, and the
next run that checks for the file redoes the step. ``os.replace`` is atomic on one file system,
which the temporary name beside the target guarantees.
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
from pathlib import Path
from typing import Any, Iterator


@contextlib.contextmanager
def atomic_path(path: Path, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it replaces ``path``, on error it is removed.

    ``suffix`` ends the temporary name, for writers that insist on one (``np.savez`` appends ``.npz``
    to any other name). A temporary *folder* works too: an existing folder at ``path`` is removed
    just before the rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}{suffix}")
    try:
        yield tmp
        if tmp.is_dir() and path.is_dir():
            shutil.rmtree(path)
        os.replace(tmp, path)
    finally:
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            tmp.unlink(missing_ok=True)


def write_text(text: str, path: Path) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def write_json(obj: Any, path: Path, indent: int | None = 2) -> None:
    """JSON with NumPy scalars written as plain numbers and anything else unknown as its ``str``."""
    write_text(json.dumps(obj, indent=indent, default=_plain) + "\n", path)


def save_npz(path: Path, arrays: dict, compressed: bool = False) -> None:
    import numpy as np

    with atomic_path(path, suffix=".npz") as tmp:
        (np.savez_compressed if compressed else np.savez)(tmp, **arrays)


def _plain(value):
    if hasattr(value, "item") and getattr(value, "ndim", 1) == 0:
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)
