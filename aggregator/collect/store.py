"""Storage for the collect stage: sources from config, items (insert or refresh), jobs, health."""

from __future__ import annotations

import functools
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from aggregator.clock import utcnow
from aggregator.collect.compact import ROW_FIELDS, Row
from aggregator.db import claims
from aggregator.db.bulk import converter, untyped
from aggregator.db.models import Item, Job, Source
from aggregator.settings import Settings

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


# Rows from compact.py are database-ready but for their dates: written through the items
# table without column types (db/bulk.py), as typed columns cost a processor call per value.
_ROW_COLUMNS = ("source_id", *ROW_FIELDS, "collected_at", "updated_at")
_RAW_ITEMS = untyped(ITEMS)
_EDITABLE_AT = tuple(ROW_FIELDS.index(name) for name in _EDITABLE)
_GUID_HASH, _FEED_HASH = ROW_FIELDS.index("guid_hash"), ROW_FIELDS.index("feed_hash")


@functools.cache
def _item_statements(dialect: str) -> tuple[Any, Any]:
    """Return (INSERT .. ON CONFLICT DO NOTHING RETURNING id, UPDATE by id) for raw rows."""
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    # DO NOTHING on the identity: a concurrent collector may have inserted it first.
    add = (
        insert(_RAW_ITEMS)
        .on_conflict_do_nothing(index_elements=["source_id", "guid_hash"])
        .returning(_RAW_ITEMS.c.id)
    )
    values = {k: bindparam(k) for k in (*_EDITABLE, "updated_at")}
    edit = update(_RAW_ITEMS).where(_RAW_ITEMS.c.id == bindparam("_id")).values(values)
    return add, edit


def upsert_items(session: Session, source_id: int, rows: list[Row]) -> tuple[list[int], int]:
    """Insert new rows (compact.py) and refresh changed ones; return (new item ids, number updated)."""
    dialect = session.get_bind().dialect
    # The column type's own conversion: the exact value a typed insert would send.
    db_time = converter(ITEMS.c.published_at, dialect)
    now = db_time(utcnow())
    # One row per identity; a repeat keeps its last copy.
    latest = {row[_GUID_HASH]: row for row in rows}
    known: dict[str, tuple[int, str | None]] = {}
    hashes = list(latest)
    for start in range(0, len(hashes), _CHUNK):
        query = select(ITEMS.c.guid_hash, ITEMS.c.id, ITEMS.c.feed_hash).where(
            ITEMS.c.source_id == source_id, ITEMS.c.guid_hash.in_(hashes[start : start + _CHUNK])
        )
        known.update({h: (i, f) for h, i, f in session.execute(query)})
    add, edit = _item_statements(dialect.name)
    new_ids: list[int] = []
    fresh = [
        dict(zip(_ROW_COLUMNS, (source_id, *row, now, now), strict=True))
        for h, row in latest.items()
        if h not in known
    ]
    for params in fresh:
        params["published_at"] = db_time(params["published_at"])
    if fresh:
        new_ids = [r.id for r in session.execute(add, fresh)]
    changed = []
    for h, row in latest.items():
        if h in known and known[h][1] != row[_FEED_HASH]:
            values = {name: row[i] for name, i in zip(_EDITABLE, _EDITABLE_AT, strict=True)}
            changed.append({"_id": known[h][0], **values, "updated_at": now})
    if changed:
        session.execute(edit, changed)
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
    """Write sources' health: one UPDATE .. WHERE id IN (..) for each set of sources given the
    same values (a chunk of 304s is one statement), one executemany per shape for the rest."""
    now = utcnow()
    alike: dict[tuple[tuple[str, Any], ...], list[int]] = {}
    each: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        values = tuple(sorted((k, v) for k, v in row.items() if k != "_sid"))
        try:
            alike.setdefault(values, []).append(row["_sid"])
        except TypeError:  # an unhashable value (a dict): that row is written on its own
            each.setdefault(tuple(sorted(row)), []).append({**row, "updated_at": now})
    for values, ids in alike.items():
        if len(ids) == 1:
            row = {**dict(values), "_sid": ids[0], "updated_at": now}
            each.setdefault(tuple(sorted(row)), []).append(row)
            continue
        shared = {k: v for k, v in values if k != "items_added"}
        if "items_added" in dict(values):
            shared["items_count"] = SOURCES.c.items_count + dict(values)["items_added"]
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            session.execute(
                update(SOURCES).where(SOURCES.c.id.in_(chunk)).values(**shared, updated_at=now)
            )
    for keys, params in each.items():
        session.execute(_source_update(tuple(k for k in keys if k != "updated_at")), params)


def enqueue_extract(session: Session, item_ids: list[int]) -> None:
    """Queue extraction for new items."""
    claims.enqueue(session, "extract", item_ids)
