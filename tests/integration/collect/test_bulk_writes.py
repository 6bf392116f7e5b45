"""Untyped bulk writes (db/bulk.py) store exactly what typed inserts store, on both backends."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, select, text

from aggregator.collect.compact import compact
from aggregator.collect.rss import entry_fingerprint, parse_feed
from aggregator.collect.store import upsert_items
from aggregator.context import Context
from aggregator.db import claims
from aggregator.db.models import Item, Job, Source

pytestmark = pytest.mark.integration
FIXTURES = Path(__file__).parents[2] / "unit" / "collect" / "fixtures"
STAMP = datetime(2026, 11, 5, 6, 7, 8, tzinfo=UTC)  # no microseconds: formats differ there


def _raw(ctx: Context, table: str, columns: list[str], order: str) -> list[tuple[Any, ...]]:
    """Return the stored values as text, the way the database holds them."""
    cast = "CAST({} AS TEXT)" if ctx.dialect == "postgresql" else "{}"
    listed = ", ".join(cast.format(c) for c in columns)
    with ctx.engine.connect() as connection:
        return list(connection.execute(text(f"SELECT {listed} FROM {table} ORDER BY {order}")))


def _sources(ctx: Context, *names: str) -> list[int]:
    with ctx.session() as session:
        rows = [Source(name=n, kind="rss", url=f"https://{n}.example/", extra={}) for n in names]
        session.add_all(rows)
        session.flush()
        return [row.id for row in rows]


def test_upsert_items_stores_what_a_typed_insert_stores(
    any_ctx: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    feed = parse_feed((FIXTURES / "rss2_basic.xml").read_bytes(), "https://f.example/feed.xml")
    feed.entries[0].tags, feed.entries[0].engagement = ["ü", 'a"b'], {"comments": 3}
    feed.entries[0].enclosures = [{"url": "https://f.example/a.mp3", "type": None, "length": 5}]
    typed, bulk = _sources(any_ctx, "typed", "bulk")
    monkeypatch.setattr("aggregator.collect.store.utcnow", lambda: STAMP)
    fields = [
        "guid_hash", "guid", "url", "canonical_url", "title", "author", "summary",
        "content_html", "kind", "published_at", "date_flagged", "tags", "enclosures",
        "engagement", "feed_hash", "collected_at", "updated_at",
    ]  # fmt: skip
    with any_ctx.session() as session:
        session.execute(
            insert(Item),
            [
                {
                    **{f: getattr(e, f) for f in fields[:-2] if f != "feed_hash"},
                    "source_id": typed,
                    "feed_hash": entry_fingerprint(e),
                    "collected_at": STAMP,
                    "updated_at": STAMP,
                }
                for e in feed.entries
            ],
        )
        new_ids, updated = upsert_items(session, bulk, compact(feed).rows)
    assert len(new_ids) == len(feed.entries) and updated == 0
    stored = _raw(any_ctx, "items", ["source_id", *fields], "id")
    by_source = {
        sid: [row[1:] for row in stored if str(row[0]) == str(sid)] for sid in (typed, bulk)
    }
    assert by_source[typed] == by_source[bulk] and len(by_source[typed]) == len(feed.entries)


def test_upsert_items_refreshes_a_changed_item_like_a_typed_update(any_ctx: Context) -> None:
    feed = parse_feed((FIXTURES / "rss2_basic.xml").read_bytes(), "https://f.example/feed.xml")
    (source,) = _sources(any_ctx, "edits")
    with any_ctx.session() as session:
        first, _ = upsert_items(session, source, compact(feed).rows)
    feed.entries[0].title, feed.entries[0].tags = "A new title", ["x"]
    with any_ctx.session() as session:
        assert upsert_items(session, source, compact(feed).rows) == ([], 1)
    with any_ctx.session() as session:
        item = session.scalars(select(Item).where(Item.id == first[0])).one()
    assert (item.title, item.tags, item.feed_hash) == (
        "A new title",
        ["x"],
        entry_fingerprint(feed.entries[0]),
    )
    assert item.updated_at.tzinfo is not None and item.published_at.tzinfo is not None


def test_enqueue_stores_what_a_typed_insert_stores(
    any_ctx: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(claims, "utcnow", lambda: STAMP)
    with any_ctx.session() as session:
        session.add(
            Job(
                stage="extract",
                subject_id=1,
                status=claims.PENDING,
                priority=0.0,
                attempts=0,
                next_attempt_at=STAMP,
                created_at=STAMP,
                updated_at=STAMP,
            )
        )
        session.flush()
        assert claims.enqueue(session, "extract", [2, 1]) == 1
    columns = ["stage", "status", "priority", "attempts", "next_attempt_at", "created_at"]
    typed, bulk = _raw(any_ctx, "jobs", [*columns, "updated_at"], "subject_id")
    assert typed == bulk
    with any_ctx.session() as session:
        job = session.scalars(select(Job).where(Job.subject_id == 2)).one()
    assert job.created_at == STAMP


def test_enqueue_with_reset_makes_a_failed_job_pending_again(
    any_ctx: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    with any_ctx.session() as session:
        claims.enqueue(session, "summarize", [5])
        job = session.scalars(select(Job).where(Job.subject_id == 5)).one()
        job.status, job.attempts, job.last_error, job.claimed_by = "failed", 3, "boom", "w:1:x"
    later = STAMP.replace(day=6)
    monkeypatch.setattr(claims, "utcnow", lambda: later)
    with any_ctx.session() as session:
        assert claims.enqueue(session, "summarize", [5], reset=True) == 1
    with any_ctx.session() as session:
        job = session.scalars(select(Job).where(Job.subject_id == 5)).one()
    assert (job.status, job.attempts, job.last_error, job.claimed_by) == ("pending", 0, None, None)
    assert job.next_attempt_at == later
