"""Tables of the records database.

Every table derives from `Base`, whose metadata carries a naming convention so that Alembic
migrations get stable constraint names on SQLite and PostgreSQL alike. Schema changes go through
a new revision in `migrations/versions/`, never through `create_all`.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import DateTime, MetaData, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class TimestampMixin:
    """`created_at` set once on insert, `updated_at` on every update (both UTC)."""

    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )


class Person(TimestampMixin, Base):
    """Someone who has an account on the hub, as the roster describes them.

    `login` is the hub user name (normalised, the primary key other tables will refer to);
    `display_name` is the 氏名 as written in the roster, kept exactly (no NFKC: 異体字 in names
    matter to their owners).
    """

    __tablename__ = "people"

    login: Mapped[str] = mapped_column(String(64), primary_key=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str | None] = mapped_column(String(254), nullable=True)
    department: Mapped[str] = mapped_column(String(200), default="")

    def __repr__(self) -> str:
        return f"Person(login={self.login!r}, display_name={self.display_name!r})"


# Each area declares its own tables on this Base, next to its code, with its own migration branch.
AREA_MODEL_MODULES = (
    "sunaba.courses.records",
    "sunaba.courses.insight_records",
    "sunaba.checks.records",
    "sunaba.showcase.records",
)


def load_area_models() -> None:
    """Import every area's table definitions, so that Base.metadata describes the whole schema."""
    import importlib

    for name in AREA_MODEL_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name is None or not name.startswith(exc.name):
                raise
