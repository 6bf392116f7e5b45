"""A parsed feed as plain tuples ready to store: built where the feed is parsed.

The parse pool's workers turn entries into rows (edit hash, JSON text, NUL characters
removed): that work is spread over the cores, and the collector process, whose own CPU
(fetching, writing the database) competes with the workers for the same cores, only hands
rows to the database. Tuples also cross the process boundary faster than dataclasses.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aggregator.collect.feed import CRASH_MARK, Entry, ParsedFeed, entry_fingerprint, one_line
from aggregator.collect.rss import parse_feed

# The items columns an entry fills, in the order of a row tuple.
ROW_FIELDS = (
    "guid_hash",
    "guid",
    "url",
    "canonical_url",
    "title",
    "author",
    "summary",
    "content_html",
    "kind",
    "published_at",
    "date_flagged",
    "tags",
    "enclosures",
    "engagement",
    "feed_hash",
)
_PUBLISHED, _FLAGGED = ROW_FIELDS.index("published_at"), ROW_FIELDS.index("date_flagged")
Row = tuple[Any, ...]


@dataclass
class CompactFeed:
    """What storing a feed needs: one row per entry, the warning and <ttl> of the feed."""

    title: str | None
    link: str | None
    rows: list[Row] = field(default_factory=list)
    warning: str | None = None
    ttl_seconds: int | None = None
    bozo: bool = False

    def dates(self) -> list[datetime]:
        """Return the entries' dates that were not flagged, in feed order."""
        return [row[_PUBLISHED] for row in self.rows if not row[_FLAGGED]]


def _text(value: str | None) -> str | None:
    """Return text PostgreSQL accepts (it refuses NUL characters that SQLite would keep)."""
    return value.replace("\x00", "") if value and "\x00" in value else value


def entry_row(entry: Entry) -> Row:
    """Return one entry as a row tuple in ROW_FIELDS order."""
    return (
        entry.guid_hash,
        _text(entry.guid),
        _text(entry.url),
        _text(entry.canonical_url),
        _text(entry.title) or "",
        _text(entry.author),
        _text(entry.summary),
        _text(entry.content_html),
        entry.kind,
        entry.published_at,
        entry.date_flagged,
        # What SQLAlchemy's JSON type writes (json.dumps; the engines set no other serializer).
        json.dumps(entry.tags),
        json.dumps(entry.enclosures),
        json.dumps(entry.engagement),
        entry_fingerprint(entry),
    )


def compact(feed: ParsedFeed) -> CompactFeed:
    """Return the feed with one row per entry, in feed order."""
    return CompactFeed(
        title=feed.title,
        link=feed.link,
        rows=[entry_row(entry) for entry in feed.entries],
        warning=feed.warning,
        ttl_seconds=feed.ttl_seconds,
        bozo=feed.bozo,
    )


def parse_compact(body: bytes, url: str, headers: dict | None = None) -> CompactFeed:
    """Return parse_feed's result as rows; like parse_feed, never raises."""
    try:
        return compact(parse_feed(body, url, headers))
    except Exception as exc:  # a bug here must not fail the batch: report it as a warning
        return CompactFeed(
            None,
            None,
            bozo=True,
            warning=f"rss: {url}: {CRASH_MARK} ({type(exc).__name__}: {one_line(exc)})",
        )
