"""Fixtures for the extract/dedupe integration tests: a page server and item factories."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from aggregator.context import Context
from aggregator.db import claims
from aggregator.db.models import Item, Source
from aggregator.settings import Settings
from tests.servers.feed_server import FeedServer

PAGES = Path(__file__).parents[2] / "fixtures" / "pages"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
HTML = "text/html; charset=utf-8"

SOURCES = [
    {
        "kind": "rss",
        "name": "Coastal Ledger",
        "url": "https://ledger.example/feed.xml",
        "priority": 5,
        "topics": ["local"],
    },
    {"kind": "rss", "name": "Wire", "url": "https://wire.example/feed.xml"},
    {"kind": "reddit", "name": "r/harbors", "subreddit": "harbors"},
]
TOPICS = [{"slug": "local", "name": "Local news"}]


@pytest.fixture
def page_server() -> Iterator[FeedServer]:
    """Return a started HTTP server on 127.0.0.1 with a robots.txt that hides /private/."""
    with FeedServer() as server:
        server.add("/robots.txt", "User-agent: *\nDisallow: /private/\n", content_type="text/plain")
        yield server


def fixture_page(name: str) -> bytes:
    """Return a page from tests/fixtures/pages."""
    return (PAGES / name).read_bytes()


@pytest.fixture
def pipeline_ctx(any_ctx: Context, make_settings: Callable[..., Settings]) -> Context:
    """Return any_ctx (SQLite, and PostgreSQL when configured) with sources and topics set."""
    any_ctx.settings = make_settings(
        database=any_ctx.settings.database.model_dump(), sources=SOURCES, topics=TOPICS
    )
    return any_ctx


@pytest.fixture
def make_item(pipeline_ctx: Context) -> Callable[..., int]:
    """Return a factory that stores a source (once) and an item, queues it for extract; item id."""
    return item_factory(pipeline_ctx)


def item_factory(ctx: Context) -> Callable[..., int]:
    """Return an item factory bound to a context (see make_item)."""
    counter = [0]

    def make(
        source: str,
        url: str | None,
        *,
        hours: float = 0,
        title: str = "A story",
        content_html: str | None = None,
        summary: str | None = None,
        kind: str = "feed",
        engagement: dict[str, Any] | None = None,
    ) -> int:
        counter[0] += 1
        with ctx.session() as session:
            row = session.query(Source).filter_by(name=source).one_or_none()
            if row is None:
                spec = next(s for s in SOURCES if s["name"] == source)
                row = Source(
                    name=source, kind=spec["kind"], url=spec.get("url", "https://reddit.example")
                )
                session.add(row)
                session.flush()
            item = Item(
                source_id=row.id,
                guid_hash=hashlib.sha256(f"{url}{counter[0]}".encode()).hexdigest(),
                guid=f"guid-{counter[0]}",
                url=url,
                canonical_url=url,
                title=title,
                content_html=content_html,
                summary=summary,
                kind=kind,
                engagement=engagement or {},
                published_at=T0 + timedelta(hours=hours),
            )
            session.add(item)
            session.flush()
            claims.enqueue(session, "extract", [item.id])
            return item.id

    return make
