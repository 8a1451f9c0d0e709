"""Fixtures shared by the whole suite (helpers live in tests/helpers.py)."""
from __future__ import annotations

import signal
from pathlib import Path

import pytest
from helpers import SHARED_DATA

# A suite started in the background by a non-interactive shell (`cmd &`) inherits SIGINT ignored, and
# so would every command the interrupt tests start and then Ctrl-C: give them the terminal's default.
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture
def shared_data() -> Path:
    """../shared/data beside the checkout; tests that need it skip, saying so, where it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"reference data folder {SHARED_DATA} is absent (present in CI and on developer machines)")
    return SHARED_DATA


@pytest.fixture(autouse=True)
def _cache_in_tmp(tmp_path, monkeypatch):
    """Feature caches go to the test's own folder, never to ~/.cache."""
    monkeypatch.setenv("NEURO_AV_CACHE", str(tmp_path / "cache"))


@pytest.fixture(scope="session")
def tiny_runs(tmp_path_factory):
    """{"stft": RUN, "mdft": RUN}: tiny trained runs (see tests/deploy_runs.py), trained once per session."""
    from deploy_runs import make_data, train_tiny

    root = tmp_path_factory.mktemp("deploy")
    data = make_data(root / "data")
    return {m: train_tiny(data, root / m, m) for m in ("stft", "mdft")}
