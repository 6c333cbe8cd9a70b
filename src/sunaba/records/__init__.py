"""The records database: people, and later courses, enrolments, attempts and scores.

One SQLAlchemy database (SQLite in the state dir by default, PostgreSQL by URL) whose schema is
owned by the Alembic migrations in `migrations/`; call `ensure_records_schema(url)` before use.
"""

from sunaba.records.db import (
    default_records_url,
    ensure_records_schema,
    make_engine,
    make_session_factory,
    records_alembic_config,
    session_scope,
)
from sunaba.records.models import Base, Person
from sunaba.records.people import PersonData, upsert_people

__all__ = [
    "Base",
    "Person",
    "PersonData",
    "default_records_url",
    "ensure_records_schema",
    "make_engine",
    "make_session_factory",
    "records_alembic_config",
    "session_scope",
    "upsert_people",
]
