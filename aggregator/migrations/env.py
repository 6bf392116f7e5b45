"""Alembic environment: runs migrations on the engine the application hands over."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from aggregator.db.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations() -> None:
    """Run migrations online on the given engine or URL (render_as_batch for SQLite ALTERs)."""
    engine = config.attributes.get("engine")
    if engine is None:
        engine = create_engine(config.get_main_option("sqlalchemy.url"))
    with engine.begin() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
            user_module_prefix="aggregator.db.types.",
        )
        context.run_migrations()


run_migrations()
