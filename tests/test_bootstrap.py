"""The set-up script is idempotent: with the stamp current it installs nothing."""
import subprocess
import sys
from pathlib import Path

from helpers import REPO


def test_second_setup_is_a_no_op():
    venv = Path(sys.prefix)
    if not (venv / ".neuro-av-stamp").exists():
        import pytest
        pytest.skip(f"tests are not running from a bootstrap-made environment ({venv})")
    proc = subprocess.run([sys.executable, str(REPO / "tools" / "bootstrap.py"), "--venv", str(venv)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "is up to date" in proc.stdout
    assert "pip" not in proc.stdout, "an up-to-date environment must not call pip"
