"""Storage for the collect stage: sources from config, items (insert or refresh), jobs, health."""

from __future__ import annotations

import functools
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from aggregator.collect.rss import Entry, entry_fingerprint
from aggregator.config import Settings
from aggregator.db import claims
from aggregator.db.models import Item, Job, Source
from aggregator.db.types import utcnow

ITEMS = Item.__table__
JOBS = Job.__table__
SOURCES = Source.__table__
_CHUNK = 500  # bound on bound parameters per IN (...) query
# Fields refreshed when an entry we already have comes back changed (identity stays).
_EDITABLE = (
    "title",
    "url",
    "canonical_url",
    "author",
    "summary",
    "content_html",
    "tags",
    "enclosures",
    "engagement",
    "feed_hash",
)


def sync_sources(session: Session, settings: Settings) -> dict[str, Source]:
    """Insert configured sources missing from the table, refresh changed ones, and mark
    those no longer configured as disabled (never deleted: their items stay)."""
    rows = {s.name: s for s in session.scalars(select(Source))}
    configured = {c.name: c for c in settings.sources}
    for name, config in configured.items():
        row = rows.get(name)
        if row is None:
            row = rows[name] = Source(name=name, kind=config.kind, url=config.url, extra={})
            session.add(row)
        elif row.url != config.url or row.kind != config.kind:
            # A new address: the old validators describe another document.
            row.url, row.kind, row.etag, row.last_modified = config.url, config.kind, None, None
        extra = dict(row.extra or {})
        extra.pop("disabled_reason", None)
        extra["disabled"] = not config.enabled
        if not config.enabled:
            extra["disabled_reason"] = "enabled = false in config"
        if extra != (row.extra or {}):
            row.extra = extra
    for name, row in rows.items():
        if name not in configured and not (row.extra or {}).get("disabled"):
            row.extra = {
                **(row.extra or {}),
                "disabled": True,
                "disabled_reason": "no longer in config",
            }
    session.flush()
    return rows


def _text(value: str | None) -> str | None:
    """Return text PostgreSQL accepts (it refuses NUL characters that SQLite would keep)."""
    return value.replace("\x00", "") if value and "\x00" in value else value


def _row(source_id: int, entry: Entry) -> dict[str, Any]:
    return {
        "source_id": source_id,
        "guid_hash": entry.guid_hash,
        "guid": _text(entry.guid),
        "url": _text(entry.url),
        "canonical_url": _text(entry.canonical_url),
        "title": _text(entry.title) or "",
        "author": _text(entry.author),
        "summary": _text(entry.summary),
        "content_html": _text(entry.content_html),
        "kind": entry.kind,
        "published_at": entry.published_at,
        "date_flagged": entry.date_flagged,
        "tags": entry.tags,
        "enclosures": entry.enclosures,
        "engagement": entry.engagement,
        "feed_hash": entry_fingerprint(entry),
    }


def upsert_items(session: Session, source_id: int, entries: list[Entry]) -> tuple[list[int], int]:
    """Insert new entries and refresh changed ones; return (ids of new items, number updated)."""
    rows = {e.guid_hash: _row(source_id, e) for e in entries}
    known: dict[str, tuple[int, str | None]] = {}
    hashes = list(rows)
    for start in range(0, len(hashes), _CHUNK):
        query = select(ITEMS.c.guid_hash, ITEMS.c.id, ITEMS.c.feed_hash).where(
            ITEMS.c.source_id == source_id, ITEMS.c.guid_hash.in_(hashes[start : start + _CHUNK])
        )
        known.update({h: (i, f) for h, i, f in session.execute(query)})
    new_ids: list[int] = []
    fresh = [row for h, row in rows.items() if h not in known]
    if fresh:
        insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
        # DO NOTHING on the identity: a concurrent collector may have inserted it first.
        stmt = insert(ITEMS).on_conflict_do_nothing(index_elements=["source_id", "guid_hash"])
        new_ids = [r.id for r in session.execute(stmt.returning(ITEMS.c.id), fresh)]
    changed = [
        {"_id": known[h][0], **{k: row[k] for k in _EDITABLE}, "updated_at": utcnow()}
        for h, row in rows.items()
        if h in known and known[h][1] != row["feed_hash"]
    ]
    if changed:
        values = {k: bindparam(k) for k in (*_EDITABLE, "updated_at")}
        session.execute(update(ITEMS).where(ITEMS.c.id == bindparam("_id")).values(values), changed)
    return sorted(new_ids), len(changed)


@functools.cache
def _source_update(keys: tuple[str, ...]) -> Any:
    """Return one reusable UPDATE for a set of health columns (compiled once, executemany)."""
    values: dict[str, Any] = {k: bindparam(k) for k in keys if k not in ("_sid", "items_added")}
    if "items_added" in keys:
        values["items_count"] = SOURCES.c.items_count + bindparam("items_added")
    values["updated_at"] = bindparam("updated_at")
    return update(SOURCES).where(SOURCES.c.id == bindparam("_sid")).values(values)


def update_sources(session: Session, rows: list[dict[str, Any]]) -> None:
    """Write sources' health, one executemany per shape of update."""
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    now = utcnow()
    for row in rows:
        groups.setdefault(tuple(sorted(row)), []).append({**row, "updated_at": now})
    for keys, params in groups.items():
        session.execute(_source_update(keys), params)


def enqueue_extract(session: Session, item_ids: list[int]) -> None:
    """Queue extraction for new items."""
    claims.enqueue(session, "extract", item_ids)
