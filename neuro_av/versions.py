"""Versions of the libraries neuro-av is built on, read from package metadata (no imports)."""
from __future__ import annotations

import platform
import subprocess
from importlib import metadata
from pathlib import Path

STACK = ("torch", "numpy", "norse", "nir", "nirtorch", "lava-nc", "lava-dl", "onnx", "onnxruntime")


def library_versions() -> dict[str, str | None]:
    """``{"python": ..., "<dist>": version or None}`` for the pinned stack and neuro-av itself."""
    out: dict[str, str | None] = {"python": platform.python_version()}
    for dist in ("neuro-av", *STACK):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = None
    return out


def git_sha(path: Path | None = None) -> str | None:
    """The commit of the checkout neuro-av runs from (``+dirty`` if modified), or None."""
    where = path or Path(__file__).resolve().parent
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=where, capture_output=True, text=True, timeout=5)
        if sha.returncode != 0:
            return None
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=where,
                               capture_output=True, text=True, timeout=5)
        return sha.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.TimeoutExpired):
        return None
