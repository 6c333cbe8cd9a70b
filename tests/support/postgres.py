"""Uniquely named databases on the PostgreSQL server at 127.0.0.1:5432 (trust auth)."""

from __future__ import annotations

import contextlib
import secrets
import subprocess
from collections.abc import Iterator

SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"


def _psql(sql: str) -> str:
    result = subprocess.run(
        ["psql", "-v", "ON_ERROR_STOP=1", "-tAc", sql, SERVER], capture_output=True, text=True
    )
    if result.returncode != 0:
        raise AssertionError(f"psql failed: {result.stderr}")
    return result.stdout.strip()


def new_database_name() -> str:
    return f"sunaba_test_{secrets.token_hex(4)}"


def create_database(name: str) -> str:
    _psql(f"CREATE DATABASE {name}")
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"


def drop_database(name: str) -> None:
    _psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def database_exists(name: str) -> bool:
    return _psql(f"SELECT 1 FROM pg_database WHERE datname = '{name}'") == "1"  # noqa: S608


@contextlib.contextmanager
def temporary_database() -> Iterator[str]:
    """A fresh database for one test, dropped afterwards also when the test fails."""
    name = new_database_name()
    url = create_database(name)
    try:
        yield url
    finally:
        drop_database(name)
