"""Engines and sessions for SQLite (WAL, foreign keys, busy timeout) and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

PACKAGE_ROOT = Path(__file__).resolve().parents[1]
ALEMBIC_DIR = PACKAGE_ROOT / "migrations"


class DatabaseError(Exception):
    """The database cannot be reached or migrated; the message is one line."""


def normalize_url(url: str, base: Path | None = None) -> str:
    """Return the URL with psycopg 3 as PostgreSQL driver and relative SQLite paths made absolute."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.drivername.startswith("sqlite") and parsed.database not in (None, "", ":memory:"):
        path = Path(parsed.database)
        if not path.is_absolute() and base is not None:
            parsed = parsed.set(database=str((base / path).resolve()))
    return parsed.render_as_string(hide_password=False)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets the site build read while a stage writes; the busy timeout makes
    # a second writer wait instead of failing at once.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def make_engine(url: str, base: Path | None = None, **kwargs: Any) -> Engine:
    """Return an engine for the database URL, configured for its backend."""
    url = normalize_url(url, base)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Return a session factory that keeps objects usable after commit."""
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """Yield a session that commits on success and rolls back on error."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def alembic_config(engine_or_url: Engine | str) -> Any:
    """Return an alembic Config pointing at the project's migrations and this database."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(ALEMBIC_DIR))
    if isinstance(engine_or_url, str):
        cfg.set_main_option("sqlalchemy.url", engine_or_url.replace("%", "%%"))
    else:
        cfg.attributes["engine"] = engine_or_url
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate the database to a revision (head by default)."""
    from alembic import command

    try:
        command.upgrade(alembic_config(engine), revision)
    except Exception as exc:  # a driver error, a lock, a refused connection
        raise DatabaseError(
            f"db: cannot migrate {engine.url.render_as_string()}: {_first_line(exc)}"
        ) from exc


def downgrade(engine: Engine, revision: str) -> None:
    """Migrate the database down to a revision."""
    from alembic import command

    command.downgrade(alembic_config(engine), revision)


def current_revision(engine: Engine) -> str | None:
    """Return the database's alembic revision, or None for an empty database."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str:
    """Return the newest migration's revision id."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head() or ""


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
