"""Service-wide key/value facts (last publish time, per-server LLM output mode, …)."""

from __future__ import annotations

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from aggregator.clock import utcnow
from aggregator.db.models import Meta


def get_meta(session: Session, key: str) -> str | None:
    """Return the stored value for a key, or None."""
    row = session.get(Meta, key)
    return row.value if row else None


def set_meta(session: Session, key: str, value: str) -> None:
    """Store a value under a key (insert or update).

    One upsert statement, so two processes setting the same key at once (workers learning a
    server's output mode) both succeed instead of one failing on the primary key.
    """
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    now = utcnow()
    statement = insert(Meta).values(key=key, value=value, updated_at=now)
    session.execute(
        statement.on_conflict_do_update(
            index_elements=[Meta.key], set_={"value": value, "updated_at": now}
        )
    )
    # Refresh a Meta row this session already holds, so it does not hide the new value.
    session.get(Meta, key, populate_existing=True)
