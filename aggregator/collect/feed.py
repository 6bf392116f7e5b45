"""The entry types every feed parser returns (Entry, ParsedFeed) and the helpers they share."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

EARLIEST = datetime(1990, 1, 1, tzinfo=UTC)
CRASH_MARK = "parser failed"  # in the warning when parse_feed caught an unexpected exception


@dataclass
class Entry:
    """One feed entry; dates are aware UTC, HTML is stored raw (sanitized at render)."""

    guid: str | None
    guid_hash: str
    url: str | None
    canonical_url: str | None
    title: str
    author: str | None
    summary: str | None
    content_html: str | None
    published_at: datetime
    date_flagged: bool = False
    tags: list[str] = field(default_factory=list)
    enclosures: list[dict[str, Any]] = field(default_factory=list)
    kind: str = "feed"
    engagement: dict[str, Any] = field(default_factory=dict)


@dataclass
class ParsedFeed:
    """What could be read from a feed, plus a one-line warning when it was malformed."""

    title: str | None
    link: str | None
    entries: list[Entry] = field(default_factory=list)
    warning: str | None = None
    ttl_seconds: int | None = None
    bozo: bool = False


def one_line(text: object, limit: int = 300) -> str:
    """Return text collapsed to one line of at most `limit` characters."""
    return " ".join(str(text).split())[:limit]


def identity_hash(guid: str | None, canonical: str | None, title: str, text: str | None) -> str:
    """Return an entry's stable identity: its GUID, else its canonical link, else title+text."""
    if guid:
        basis = "guid:" + guid
    elif canonical:
        basis = "url:" + canonical
    else:
        basis = "text:" + title + "\n" + (text or "")
    return hashlib.sha256(basis.encode("utf-8", "surrogatepass")).hexdigest()


def entry_fingerprint(entry: Entry) -> str:
    """Return a hash of what a reader sees of an entry, to notice edits."""
    parts = (
        entry.title,
        entry.url or "",
        entry.summary or "",
        entry.content_html or "",
        entry.author or "",
        repr(sorted(entry.engagement.items())),
    )
    return hashlib.sha256("\x1f".join(parts).encode("utf-8", "surrogatepass")).hexdigest()


def checked_date(value: datetime | None, now: datetime) -> tuple[datetime, bool]:
    """Return (date, flagged): missing, pre-1990 or over a day ahead becomes `now`, flagged."""
    if value is None or value < EARLIEST or value > now + timedelta(days=1):
        return now, True
    return value, False


def comment_count(value: Any) -> dict[str, int]:
    """Return {"comments": n} for a feed's comment count (slash:comments, thr:total), else {}."""
    text = str(value if value is not None else "").strip()
    return {"comments": int(text)} if text.isdigit() and len(text) < 12 else {}


def dedupe_entries(entries: list[Entry]) -> list[Entry]:
    """Return entries with one identity each: a GUID repeated for different links gets the
    link folded into its identity (so no entry is lost); exact repeats are dropped."""
    counts: dict[str, int] = {}
    for entry in entries:
        if entry.guid:
            counts[entry.guid] = counts.get(entry.guid, 0) + 1
    seen: set[str] = set()
    out = []
    for entry in entries:
        if entry.guid and counts[entry.guid] > 1:
            extra = entry.canonical_url or entry.title + "\n" + (entry.content_html or "")
            entry.guid_hash = identity_hash(entry.guid + "\n" + extra, None, "", None)
        if entry.guid_hash not in seen:
            seen.add(entry.guid_hash)
            out.append(entry)
    return out
