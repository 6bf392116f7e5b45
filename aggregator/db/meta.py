"""Service-wide key/value facts (last publish time, per-server LLM output mode, …)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from aggregator.db.models import Meta


def get_meta(session: Session, key: str) -> str | None:
    """Return the stored value for a key, or None."""
    row = session.get(Meta, key)
    return row.value if row else None


def set_meta(session: Session, key: str, value: str) -> None:
    """Store a value under a key (insert or update)."""
    row = session.get(Meta, key)
    if row is None:
        session.add(Meta(key=key, value=value))
    else:
        row.value = value
