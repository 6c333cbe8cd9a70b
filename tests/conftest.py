"""Shared fixtures: a real hub for the integration and browser tiers."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.support.hub import SunabaHub

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"


def _require_root():
    if os.geteuid() != 0:
        pytest.fail("integration tests create Unix users and cgroups: run them as root (make test)")


@pytest.fixture(scope="session")
def hub():
    """One hub shared by tests that do not restart it."""
    _require_root()
    test_hub = SunabaHub()
    try:
        test_hub.start()
        yield test_hub
    finally:
        test_hub.close()


@pytest.fixture(params=[True, False], ids=["fast-start", "bubblewrap"])
def fresh_hub(request):
    """A hub of the test's own, for tests that stop or restart it; once with servers forked by
    the fast-start server, once with one bubblewrap process per server."""
    _require_root()
    test_hub = SunabaHub(extra={"sandbox": {"fast_start": request.param}})
    try:
        yield test_hub
    finally:
        test_hub.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
