"""Versions of the libraries neuro-av is built on (read from package metadata, no imports), and the
machine facts a measured figure depends on (CPU, threads, BLAS)."""
from __future__ import annotations

import os
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


def machine_info() -> dict:
    """The CPU and software figures depend on."""
    import torch

    cpu, flags = platform.processor() or platform.machine(), ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name") and cpu in ("", platform.machine(), platform.processor()):
                cpu = line.split(":", 1)[1].strip()
            if line.startswith("flags") and not flags:
                flags = line
    except OSError:
        pass
    blas = [ln.strip() for ln in torch.__config__.show().splitlines() if "BLAS_INFO" in ln or "LAPACK_INFO" in ln]
    return {"cpu": cpu, "avx512": "avx512f" in flags.split(), "cores": os.cpu_count(),
            "torch_threads": torch.get_num_threads(), "torch_blas": blas, "platform": platform.platform(),
            "versions": library_versions()}
