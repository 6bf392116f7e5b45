"""Migrations are the only way the schema is made: upgrade, compare with the models, downgrade."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from aggregator.db.models import Base
from aggregator.db.session import current_revision, downgrade, head_revision, make_engine, upgrade

pytestmark = pytest.mark.integration


def test_migrations_upgrade_match_models_and_downgrade(db_url: str) -> None:
    engine = make_engine(db_url)
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    with engine.connect() as connection:
        diff = compare_metadata(
            MigrationContext.configure(connection, opts={"compare_type": True}), Base.metadata
        )
    assert diff == [], f"models and migrations differ: {diff}"
    assert set(inspect(engine).get_table_names()) >= set(Base.metadata.tables)
    downgrade(engine, "base")
    assert current_revision(engine) is None
    assert not set(inspect(engine).get_table_names()) & set(Base.metadata.tables)
    engine.dispose()


def test_migrations_upgrade_is_idempotent(db_url: str) -> None:
    engine = make_engine(db_url)
    upgrade(engine)
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    engine.dispose()


def test_sqlite_pragmas_are_set(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
    engine.dispose()
