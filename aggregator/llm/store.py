"""The LLM's SQL: the call ledger (and the one daily-spend query), the response cache, mode memory.

Every other module in `aggregator/llm/` takes and returns plain data.
"""

from __future__ import annotations

import threading
from dataclasses import asdict
from datetime import datetime, time
from typing import Any

from sqlalchemy import Engine, func, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, sessionmaker

from aggregator.clock import utcnow
from aggregator.db.meta import get_meta, set_meta
from aggregator.db.models import LLMBatch, LLMCacheEntry, LLMCall
from aggregator.db.session import session_scope
from aggregator.llm.cache import CallRecord


def record_calls(session: Session, records: list[CallRecord]) -> None:
    """Add one llm_calls row per record."""
    if records:
        now = utcnow()
        session.execute(insert(LLMCall), [{**asdict(r), "created_at": now} for r in records])


def spend_since(session: Session, since: datetime) -> tuple[float, int]:
    """Return (USD spent, calls made) in the ledger since a time; cache hits are not calls."""
    cost, calls = session.execute(
        select(func.coalesce(func.sum(LLMCall.cost_usd), 0.0), func.count()).where(
            LLMCall.created_at >= since, LLMCall.cached.is_(False)
        )
    ).one()
    return float(cost), int(calls)


def spent_today(session: Session, now: datetime | None = None) -> float:
    """Return today's (UTC) LLM spend from the ledger: what the daily budget is checked against."""
    now = now or utcnow()
    return spend_since(session, datetime.combine(now.date(), time(0), tzinfo=now.tzinfo))[0]


class DbCache:
    """The llm_cache table, read and written with short Core statements (safe from any thread).

    With `deferred=True`, answers are held until `flush(session)` writes them inside the
    caller's own transaction (the summarize stage stores them with the cards they made).
    """

    def __init__(self, engine: Engine, *, deferred: bool = False):
        self.engine = engine
        self.deferred = deferred
        self.pending: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> dict[str, Any] | None:
        """Return the cached response for a key, or None."""
        with self._lock:
            held = self.pending.get(key)
        if held is not None:
            return held["response"]
        with self.engine.connect() as connection:
            query = select(LLMCacheEntry.response).where(LLMCacheEntry.key == key)
            return connection.execute(query).scalar_one_or_none()

    def put(self, key: str, model: str, response: dict[str, Any]) -> None:
        """Store a validated response; a concurrent writer of the same key wins silently."""
        row = {"key": key, "model": model, "response": response, "created_at": utcnow()}
        if self.deferred:
            with self._lock:
                self.pending[key] = row
            return
        with self.engine.begin() as connection:
            connection.execute(_insert_ignoring(connection.dialect.name, [row]))

    def flush(self, session: Session) -> None:
        """Write the held answers in the session's transaction."""
        with self._lock:
            rows, self.pending = list(self.pending.values()), {}
        if rows:
            session.execute(_insert_ignoring(session.get_bind().dialect.name, rows))


def _insert_ignoring(dialect: str, rows: list[dict[str, Any]]) -> Any:
    """Return a multi-row insert into llm_cache that skips keys already stored."""
    insert_for = pg_insert if dialect == "postgresql" else sqlite_insert
    return insert_for(LLMCacheEntry).values(rows).on_conflict_do_nothing(index_elements=["key"])


class DbModeMemory:
    """Which output mode each server (base URL + model) accepts, kept in the meta table.

    A value is `mode|ISO time it was found`; one older than `reprobe_after` seconds is
    forgotten so detection starts again from the best mode (servers get upgraded).
    """

    def __init__(self, sessions: sessionmaker[Session], reprobe_after: float = 7 * 86400.0):
        self.sessions = sessions
        self.reprobe_after = reprobe_after
        self._known: dict[str, str | None] = {}

    @staticmethod
    def _key(server: str) -> str:
        return f"llm.output_mode.{server}"

    def get(self, server: str) -> str | None:
        """Return the remembered mode for a server, or None when unknown or due for a re-probe."""
        if server not in self._known:
            with session_scope(self.sessions) as session:
                self._known[server] = get_meta(session, self._key(server))
        mode, _, found = (self._known[server] or "").partition("|")
        try:
            age = (utcnow() - datetime.fromisoformat(found)).total_seconds()
        except ValueError:
            return None  # no time recorded (or unreadable): probe again
        return mode if mode and age < self.reprobe_after else None

    def set(self, server: str, mode: str) -> None:
        """Remember the mode that worked for a server, and when."""
        if self.get(server) == mode:
            return
        self._known[server] = value = f"{mode}|{utcnow().isoformat()}"
        with session_scope(self.sessions) as session:
            set_meta(session, self._key(server), value)


def add_batch(session: Session, model: str, mode: str, lines: dict[str, int]) -> int:
    """Add a batch row in state "preparing" (before anything is uploaded); return its id."""
    row = LLMBatch(model=model, output_mode=mode, lines=lines, status="preparing")
    session.add(row)
    session.flush()
    return row.id


def open_batches(session: Session) -> list[dict[str, Any]]:
    """Return the batches not finished yet (preparing or submitted) as plain dicts."""
    rows = session.scalars(
        select(LLMBatch)
        .where(LLMBatch.status.in_(("preparing", "submitted")))
        .order_by(LLMBatch.id)
    )
    return [{"id": r.id, "remote_id": r.remote_id, "status": r.status, "model": r.model,
             "output_mode": r.output_mode, "lines": dict(r.lines)} for r in rows]  # fmt: skip


def update_batch(session: Session, batch_id: int, **values: Any) -> None:
    """Set a batch row's fields (remote_id, status, remote_status, error)."""
    row = session.get(LLMBatch, batch_id)
    if row is not None:
        for key, value in values.items():
            setattr(row, key, value)
