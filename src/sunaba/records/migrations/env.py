"""Alembic environment of the records database, driven from `sunaba.records.db`.

The caller passes the URL (and usually an open connection) through `config.attributes`; nothing
is read from an alembic.ini.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from sunaba.records.db import VERSION_TABLE, make_engine
from sunaba.records.models import Base

config = context.config
target_metadata = Base.metadata
version_table = config.attributes.get("version_table", VERSION_TABLE)


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        version_table=version_table,
        # SQLite cannot ALTER most things; batch mode rebuilds tables instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )


def run_migrations_offline() -> None:
    context.configure(
        url=config.attributes["url"],
        target_metadata=target_metadata,
        version_table=version_table,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine(config.attributes["url"])
    try:
        with engine.connect() as connection:
            _configure(connection)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
