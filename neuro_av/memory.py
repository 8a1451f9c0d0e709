"""Memory a step needs, checked before it allocates.

A step that would allocate more than the machine can give raises :class:`~neuro_av.errors.MemoryNeedError`
("needs 37.3 GiB for the weights of fc; this machine has 21.0 GiB available") instead of NumPy's
``_ArrayMemoryError`` midway, or the kernel's OOM killer later. *Available* is Linux's
``MemAvailable`` (what can be allocated without swapping), bounded by the cgroup's limit where there is one.
"""
from __future__ import annotations

from pathlib import Path

from neuro_av.errors import MemoryNeedError

FALLBACK_BYTES = 8 << 30  # where /proc/meminfo cannot be read (not Linux): a modest machine
GIB = float(1 << 30)


def available_bytes() -> int:
    """Bytes this process can allocate now (see the module docstring)."""
    free = FALLBACK_BYTES
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                free = int(line.split()[1]) * 1024
                break
    except (OSError, ValueError, IndexError):
        pass
    try:
        limit, used = (Path("/sys/fs/cgroup", f).read_text().strip() for f in ("memory.max", "memory.current"))
        if limit != "max":
            free = min(free, max(int(limit) - int(used), 0))
    except (OSError, ValueError):
        pass
    return free


def require(need_bytes: float, what: str, advice: str) -> None:
    """Raise unless ``need_bytes`` fit in the memory available now; ``what`` names the allocation
    ("the weights of fc"), ``advice`` says what to do ("split the layer")."""
    have = available_bytes()
    if need_bytes > have:
        raise MemoryNeedError(f"needs {need_bytes / GIB:.1f} GiB for {what}; this machine has "
                              f"{have / GIB:.1f} GiB available; {advice}")
