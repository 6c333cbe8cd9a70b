"""Fixtures for the datasets tests: the repository's catalogue and the shared open-data mirror."""

from __future__ import annotations

from pathlib import Path

import pytest

from sunaba.datasets.catalogue import Catalogue
from tests.unit.datasets.paths import CATALOGUE_DIR, MIRROR


@pytest.fixture(scope="session")
def repo_catalogue() -> Catalogue:
    return Catalogue([CATALOGUE_DIR])


@pytest.fixture(scope="session")
def mirror() -> Path:
    if not MIRROR.is_dir():
        pytest.skip(f"the open-data mirror {MIRROR} is absent (it sits beside the clone in CI)")
    return MIRROR


@pytest.fixture(scope="session")
def fetched(tmp_path_factory, mirror) -> Path:
    """Every remote resource fetched once through the mirror into a temporary cache."""
    from sunaba.datasets.fetch import fetch

    cache = tmp_path_factory.mktemp("datasets-cache")
    results = fetch(Catalogue([CATALOGUE_DIR]), cache, mirror=mirror)
    failed = [f"{r.dataset}/{r.resource}: {r.message}" for r in results if not r.ok]
    assert not failed, failed
    return cache


@pytest.fixture(scope="session")
def full_catalogue(fetched) -> Catalogue:
    return Catalogue([fetched, CATALOGUE_DIR])
