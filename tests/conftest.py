"""Shared fixtures: settings, databases (SQLite file, PostgreSQL when configured), a run context."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from aggregator.config import load_settings
from aggregator.context import Context, open_context
from aggregator.settings import Settings

PG_ENV = "AGGREGATOR_TEST_DATABASE_URL"
PG_SKIP = (
    f"PostgreSQL tests need {PG_ENV} (e.g. postgresql://postgres@127.0.0.1:5432/aggregator_test)"
)

# Tests never read the developer's real configuration or keys.
for _name in (
    "AGGREGATOR_CONFIG",
    "AGGREGATOR_DATABASE_URL",
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "AGGREGATOR_LLM_MODEL",
    "REDDIT_CLIENT_ID",
    "REDDIT_CLIENT_SECRET",
    "REDDIT_USER_AGENT",
):
    os.environ.pop(_name, None)


def reset_postgres(url: str) -> str:
    """Empty the PostgreSQL test database (drop and recreate its public schema); return the URL."""
    engine = create_engine(
        make_url(url).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT"
    )
    with engine.connect() as connection:
        connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Return an empty database URL: a SQLite file, then PostgreSQL when configured."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'test.db'}"
    url = os.environ.get(PG_ENV)
    if not url:
        pytest.skip(PG_SKIP)
    return reset_postgres(url)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """Return the URL of an empty SQLite file database."""
    return f"sqlite:///{tmp_path / 'test.db'}"


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    """Return a factory of validated settings; keyword sections override the test defaults."""

    def factory(**sections: Any) -> Settings:
        overrides: dict[str, Any] = {
            "site": {"output_dir": str(tmp_path / "site"), "base_url": "http://127.0.0.1:8000/"},
            "database": {"url": f"sqlite:///{tmp_path / 'test.db'}"},
            "fetch": {"allow_private_networks": True},
        }
        for key, value in sections.items():
            if isinstance(value, dict) and isinstance(overrides.get(key), dict):
                overrides[key] = {**overrides[key], **value}
            else:
                overrides[key] = value
        return load_settings(tmp_path / "missing.toml", env={}, overrides=overrides, required=False)

    return factory


@pytest.fixture
def ctx(make_settings: Callable[..., Settings]) -> Iterator[Context]:
    """Return a context on a migrated SQLite database in tmp_path."""
    context = open_context(make_settings())
    yield context
    context.engine.dispose()


@pytest.fixture
def any_ctx(make_settings: Callable[..., Settings], db_url: str) -> Iterator[Context]:
    """Return a context on a migrated database, once on SQLite and once on PostgreSQL."""
    context = open_context(make_settings(database={"url": db_url}))
    yield context
    context.engine.dispose()
