"""The showcase's tables (migration branch "showcase") on SQLite and on PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, inspect, select
from sqlalchemy.exc import IntegrityError

from sunaba.records.db import ensure_records_schema, make_session_factory
from sunaba.showcase.records import ShowcaseApp, ShowcaseVersion
from tests.support.postgres import temporary_database


def exercise(url: str) -> None:
    ensure_records_schema(url)
    ensure_records_schema(url)  # idempotent
    engine = create_engine(url)
    try:
        tables = set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert {"showcase_apps", "showcase_versions"} <= tables
    sessions = make_session_factory(url)
    with sessions.begin() as session:
        app = ShowcaseApp(
            team="alpha",
            title="七尾市の避難所",
            visibility="team",
            notebook="app.ipynb",
            created_by="hanako",
        )
        session.add(app)
        session.flush()
        version = ShowcaseVersion(
            app_id=app.id, number=1, source_path="work/app.ipynb", published_by="hanako"
        )
        version.files = ["data/a.csv", "app.ipynb"]
        session.add(version)
    with sessions() as session:
        stored = session.scalars(select(ShowcaseApp)).one()
        assert stored.status == "draft" and stored.next_version_number == 2
        assert stored.version(1).files == ["app.ipynb", "data/a.csv"]
        assert stored.created_at is not None
    # One number per version of an app; a visibility outside the three is refused.
    with pytest.raises(IntegrityError), sessions.begin() as session:
        session.add(ShowcaseVersion(app_id=stored.id, number=1, source_path="x", published_by="x"))
    with pytest.raises(IntegrityError), sessions.begin() as session:
        session.add(
            ShowcaseApp(team="a", title="t", visibility="world", notebook="n", created_by="x")
        )
    # Deleting an app takes its versions along.
    with sessions.begin() as session:
        session.delete(session.get(ShowcaseApp, stored.id))
    with sessions() as session:
        assert session.scalars(select(ShowcaseVersion)).all() == []
    sessions.kw["bind"].dispose()


def test_sqlite(tmp_path):
    exercise(f"sqlite:///{tmp_path}/records.sqlite")


@pytest.mark.postgres
def test_postgresql():
    with temporary_database() as url:
        exercise(url)
