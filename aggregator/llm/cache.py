"""The response cache, the per-server output-mode memory and the call ledger (table stores)."""

from __future__ import annotations

import hashlib
import json
import re
import threading
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from sqlalchemy import Engine, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, sessionmaker

from aggregator.clock import utcnow
from aggregator.db.meta import get_meta, set_meta
from aggregator.db.models import LLMCacheEntry, LLMCall
from aggregator.db.session import session_scope

_SPACE = re.compile(r"\s+")


def cache_key(
    model: str, prompt_sha256: str, messages: list[dict[str, str]], params: dict[str, Any]
) -> str:
    """Return sha256 of (model, prompt sha256, whitespace-normalised input, parameters)."""
    normalised = [[m["role"], _SPACE.sub(" ", m["content"]).strip()] for m in messages]
    payload = json.dumps(
        [model, prompt_sha256, normalised, params], sort_keys=True, ensure_ascii=False
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


class Cache(Protocol):
    def get(self, key: str) -> dict[str, Any] | None: ...
    def put(self, key: str, model: str, response: dict[str, Any]) -> None: ...


class ModeMemory(Protocol):
    def get(self, server: str) -> str | None: ...
    def set(self, server: str, mode: str) -> None: ...


class MemoryCache:
    """A dict-backed cache (tests, one-off calls)."""

    def __init__(self) -> None:
        self.entries: dict[str, dict[str, Any]] = {}

    def get(self, key: str) -> dict[str, Any] | None:
        """Return the cached response for a key, or None."""
        return self.entries.get(key)

    def put(self, key: str, model: str, response: dict[str, Any]) -> None:
        """Store a validated response."""
        self.entries[key] = response


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
    """Which output mode each server (base URL + model) accepts, kept in the meta table."""

    def __init__(self, sessions: sessionmaker[Session]):
        self.sessions = sessions
        self._known: dict[str, str | None] = {}

    @staticmethod
    def _key(server: str) -> str:
        return f"llm.output_mode.{server}"

    def get(self, server: str) -> str | None:
        """Return the remembered mode for a server, or None."""
        if server not in self._known:
            with session_scope(self.sessions) as session:
                self._known[server] = get_meta(session, self._key(server))
        return self._known[server]

    def set(self, server: str, mode: str) -> None:
        """Remember the mode that worked for a server."""
        if self._known.get(server) == mode:
            return
        self._known[server] = mode
        with session_scope(self.sessions) as session:
            set_meta(session, self._key(server), mode)


class MemoryModes(dict[str, str]):
    """A dict-backed mode memory (tests, one-off calls)."""

    def set(self, server: str, mode: str) -> None:
        """Remember the mode that worked for a server."""
        self[server] = mode


@dataclass
class CallRecord:
    """One model request (or cache hit) as the ledger stores it; never holds secrets."""

    purpose: str
    model: str
    status: str  # ok | cached | invalid | truncated | rejected | error
    subject: str | None = None
    prompt_name: str | None = None
    prompt_version: str | None = None
    prompt_sha256: str | None = None
    cache_key: str | None = None
    cached: bool = False
    error: str | None = None
    output_mode: str | None = None
    tokens_in: int = 0
    tokens_out: int = 0
    tokens_cached: int = 0
    cost_usd: float = 0.0
    latency_ms: int = 0
    options: dict[str, Any] = field(default_factory=dict)
    response_text: str | None = None


def record_calls(session: Session, records: list[CallRecord]) -> None:
    """Add one llm_calls row per record."""
    if records:
        now = utcnow()
        session.execute(insert(LLMCall), [{**asdict(r), "created_at": now} for r in records])
