"""Paths and helpers for tests. Paths are resolved from this file, never from the working directory."""
from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO.parent / "shared" / "data"


def run_python(code: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter of this environment (module state is per process).

    The working directory is a neutral one, so imports resolve through the installed package as
    they do for a user, not through the checkout's folders on ``sys.path``.
    """
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout,
                          cwd=tempfile.gettempdir())


def tiny_synthetic(root: Path) -> Path:
    """The embedded benchmark at its smallest useful size (6 clips per class), written to ``root``."""
    from neuro_av.data.synth import SynthConfig, write_synthetic

    write_synthetic(root, SynthConfig(clips_per_class=6, held_out_per_class=2))
    return root
