"""Hubs with two synced courses, shared by this folder's tests: one whose records database is
SQLite in the state dir, one on the PostgreSQL server at 127.0.0.1:5432."""

from __future__ import annotations

import os
from concurrent.futures import Future, ThreadPoolExecutor

import pytest

from tests.support.courses import CourseWorld, start_course_world, stop_course_world

BACKENDS = ("sqlite", "postgresql")


@pytest.fixture(scope="package")
def worlds():
    """Both hubs start side by side (most of a start is waiting), each used when first needed."""
    if os.geteuid() != 0:
        pytest.fail("course tests create Unix accounts: run them as root (make test)")
    pool = ThreadPoolExecutor(max_workers=len(BACKENDS))
    starting: dict[str, Future] = {b: pool.submit(start_course_world, b) for b in BACKENDS}
    try:
        yield starting
    finally:
        for future in starting.values():
            if future.exception() is None:
                stop_course_world(future.result())
        pool.shutdown()


def _world(worlds: dict[str, Future], backend: str) -> CourseWorld:
    return worlds[backend].result()


@pytest.fixture(
    scope="package", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def world(request, worlds) -> CourseWorld:
    return _world(worlds, request.param)


@pytest.fixture(scope="package")
def sqlite_world(worlds) -> CourseWorld:
    return _world(worlds, "sqlite")
