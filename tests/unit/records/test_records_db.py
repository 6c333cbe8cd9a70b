"""The records database: Alembic migrations on SQLite and PostgreSQL, models in step with them,
and the people upsert."""

from __future__ import annotations

import stat
import time

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, select
from tests.support.postgres import temporary_database

from sunaba.config import SiteConfig
from sunaba.records import (
    Base,
    Person,
    PersonData,
    default_records_url,
    ensure_records_schema,
    make_engine,
    records_alembic_config,
    session_scope,
    upsert_people,
)
from sunaba.records.db import VERSION_TABLE, current_revision
from sunaba.records.models import load_area_models


def head_revision() -> frozenset[str]:
    """Every area keeps its own migration branch; the database is current at all their heads."""
    return frozenset(ScriptDirectory.from_config(records_alembic_config()).get_heads())


def schema_diff(url: str) -> list:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"version_table": VERSION_TABLE, "compare_type": True}
            )
            load_area_models()
            return compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()


def check_database(url: str) -> None:
    """What every backend must do: migrate from nothing, twice, match the models, upsert."""
    assert current_revision(url) is None
    ensure_records_schema(url)
    ensure_records_schema(url)  # idempotent
    assert current_revision(url) == head_revision()
    assert schema_diff(url) == []

    engine = make_engine(url)
    try:
        tables = set(inspect(engine).get_table_names())
        assert {"people", VERSION_TABLE} <= tables
        assert "alembic_version" not in tables  # never collides with the hub's own version table
    finally:
        engine.dispose()

    with session_scope(url) as session:
        created, updated = upsert_people(
            session,
            [
                PersonData("tanaka", "田中 太郎", "tanaka@example.jp", "企画課"),
                PersonData("suzuki", "鈴木 花子"),
            ],
        )
    assert (created, updated) == (["tanaka", "suzuki"], [])
    with session_scope(url) as session:
        tanaka = session.get(Person, "tanaka")
        first_created, first_updated = tanaka.created_at, tanaka.updated_at
    time.sleep(0.01)
    with session_scope(url) as session:
        created, updated = upsert_people(
            session,
            [
                PersonData("tanaka", "田中 太郎", "tanaka@example.jp", "政策課"),
                PersonData("suzuki", "鈴木 花子", None, ""),  # empty values keep what is stored
                PersonData("kato", "加藤", None, ""),
            ],
        )
    assert (created, updated) == (["kato"], ["tanaka"])
    with session_scope(url) as session:
        rows = {p.login: p for p in session.scalars(select(Person).order_by(Person.login))}
        assert list(rows) == ["kato", "suzuki", "tanaka"]
        assert rows["tanaka"].department == "政策課"
        assert rows["tanaka"].created_at == first_created
        assert rows["tanaka"].updated_at > first_updated
        assert rows["suzuki"].email is None and rows["suzuki"].department == ""


def test_sqlite_records_database(tmp_path):
    path = tmp_path / "deep" / "records.sqlite"
    check_database(f"sqlite:///{path}")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_session_scope_rolls_back_on_error(tmp_path):
    url = f"sqlite:///{tmp_path / 'records.sqlite'}"
    ensure_records_schema(url)
    with pytest.raises(RuntimeError), session_scope(url) as session:
        upsert_people(session, [PersonData("tanaka", "田中")])
        raise RuntimeError("boom")
    with session_scope(url) as session:
        assert session.scalars(select(Person)).all() == []


def test_downgrade_to_base_and_back(tmp_path):
    from alembic import command

    url = f"sqlite:///{tmp_path / 'records.sqlite'}"
    ensure_records_schema(url)
    command.downgrade(records_alembic_config(url), "base")
    engine = create_engine(url)
    try:
        assert "people" not in inspect(engine).get_table_names()
    finally:
        engine.dispose()
    ensure_records_schema(url)
    assert current_revision(url) == head_revision()


def test_default_url_is_in_the_state_dir(tmp_path):
    config = SiteConfig.model_validate({"hub": {"state_dir": str(tmp_path)}})
    assert default_records_url(config) == f"sqlite:///{tmp_path}/records.sqlite"


@pytest.mark.postgres
def test_postgresql_records_database():
    with temporary_database() as url:
        check_database(url)
