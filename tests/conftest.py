"""Shared test helpers. Paths are resolved from this file, never from the working directory."""
from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO.parent / "shared" / "data"


def run_python(code: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter of this environment (module state is per process).

    The working directory is a neutral one, so imports resolve through the installed package as
    they do for a user, not through the checkout's folders on ``sys.path``.
    """
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout,
                          cwd=tempfile.gettempdir())


@pytest.fixture
def shared_data() -> Path:
    """../shared/data beside the checkout; tests that need it skip, saying so, where it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"reference data folder {SHARED_DATA} is absent (present in CI and on developer machines)")
    return SHARED_DATA
