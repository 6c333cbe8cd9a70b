"""One Chromium per test module (Debian's, driven by Playwright)."""

from __future__ import annotations

import pytest

from tests.e2e.browser import chromium


@pytest.fixture(scope="module")
def browser():
    with chromium() as instance:
        yield instance
