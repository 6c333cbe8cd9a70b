"""Engine, sessions and schema upgrades of the records database.

The URL is any SQLAlchemy URL: `sqlite:///{state_dir}/records.sqlite` by default,
`postgresql+psycopg://user@host/db` in production. The schema is created and upgraded by Alembic,
configured in code (no alembic.ini on disk), with its own version table so that the records
database may even share a PostgreSQL database with the hub's.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.orm import Session, sessionmaker

from sunaba.config.schema import SiteConfig
from sunaba.core.state import StatePaths

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
VERSION_TABLE = "sunaba_records_version"


def default_records_url(config: SiteConfig) -> str:
    """The records URL for a site: `records.db_url` when the config has one, else SQLite in the
    state dir."""
    if config.records.db_url:
        return config.records.db_url

    return f"sqlite:///{StatePaths.from_config(config).records_db}"


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def make_engine(url: str, **kwargs) -> Engine:
    """An engine for the records database; SQLite gets foreign keys switched on."""
    kwargs.setdefault("pool_pre_ping", True)
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def make_session_factory(url_or_engine: str | Engine) -> sessionmaker[Session]:
    engine = make_engine(url_or_engine) if isinstance(url_or_engine, str) else url_or_engine
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def session_scope(url_or_engine: str | Engine) -> Iterator[Session]:
    """One transaction: committed when the block ends normally, rolled back on an exception."""
    owned = isinstance(url_or_engine, str)
    engine = make_engine(url_or_engine) if owned else url_or_engine
    session = Session(bind=engine, expire_on_commit=False)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
        if owned:
            engine.dispose()


def records_alembic_config(url: str | None = None) -> Config:
    """Alembic config built in code. With `url`, commands connect there; developers can also use
    it for new revisions: `command.revision(records_alembic_config(url), "msg", autogenerate=True)`.
    """
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    # Passed as an attribute, not as a main option: configparser would choke on '%' in passwords.
    cfg.attributes["url"] = url
    cfg.attributes["version_table"] = VERSION_TABLE
    return cfg


def sqlite_file(url: str) -> Path | None:
    """The file of a file-based SQLite URL, else None."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    database = parsed.database or ""
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def precreate_sqlite_file(url: str) -> None:
    """For a file-based SQLite URL whose file does not exist yet: create its directory and an
    empty 0600 file, so the database is never readable by others, whatever the umask."""
    path = sqlite_file(url)
    if path is None or path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def ensure_records_schema(url: str) -> None:
    """Create or upgrade the records schema to the newest revision (idempotent)."""
    precreate_sqlite_file(url)
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            cfg = records_alembic_config(url)
            cfg.attributes["connection"] = connection
            command.upgrade(cfg, "heads")
    finally:
        engine.dispose()


def current_revision(url: str) -> frozenset[str] | None:
    """The revisions (one per area branch) the records database is at, or None when it has no
    schema yet."""
    from alembic.runtime.migration import MigrationContext

    path = sqlite_file(url)
    if path is not None and not path.exists():
        return None  # do not create an empty file just by looking
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
            heads = context.get_current_heads()
            return frozenset(heads) if heads else None
    finally:
        engine.dispose()
