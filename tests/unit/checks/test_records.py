"""Check and hint events in the records database, on SQLite and on the real PostgreSQL."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import select
from sqlalchemy.orm import Session

import sunaba.courses.insight_records  # noqa: F401 - its tables and the check index, on Base
from sunaba.checks.records import CheckEvent, hints_given, record_event
from sunaba.records.db import VERSION_TABLE, ensure_records_schema, make_engine
from sunaba.records.models import Base
from tests.support.postgres import temporary_database


def exercise(url: str) -> None:
    ensure_records_schema(url)
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"version_table": VERSION_TABLE, "compare_type": True}
            )
            diff = compare_metadata(context, Base.metadata)
        # The checks table matches its model (other areas' tables are theirs to keep in step).
        assert [d for d in diff if "check_events" in repr(d)] == []
        where = {"course": "c1", "assignment": "a1", "question": "q1"}
        record_event(engine, login="alice", kind="check", result="fail", **where)
        record_event(engine, login="alice", kind="hint", result="hint", hint_level=1, **where)
        record_event(engine, login="bob", kind="hint", result="hint", hint_level=1, **where)
        assert hints_given(engine, "alice", "c1", "a1", "q1") == 1
        assert hints_given(engine, "alice", "c1", "a1", "q2") == 0
        with Session(engine) as session:
            rows = session.scalars(select(CheckEvent).order_by(CheckEvent.id)).all()
        assert [(r.login, r.kind, r.result) for r in rows] == [
            ("alice", "check", "fail"),
            ("alice", "hint", "hint"),
            ("bob", "hint", "hint"),
        ]
        assert all(r.created_at is not None for r in rows)
    finally:
        engine.dispose()


def test_sqlite(tmp_path):
    exercise(f"sqlite:///{tmp_path}/records.sqlite")


@pytest.mark.postgres
def test_postgresql():
    with temporary_database() as url:
        exercise(url)
