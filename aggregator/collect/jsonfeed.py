"""JSON Feed 1.0/1.1 (jsonfeed.org) text -> ParsedFeed; feedparser does not read it."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin

from aggregator.collect.feed import (
    Entry,
    ParsedFeed,
    checked_date,
    dedupe_entries,
    identity_hash,
    one_line,
)
from aggregator.collect.urls import canonical_url


def _date(value: Any) -> datetime | None:
    """Return an RFC 3339 date as aware UTC, or None."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


def _text(value: Any, limit: int = 1000) -> str:
    return " ".join(str(value).split())[:limit] if isinstance(value, str | int | float) else ""


def _author(item: dict[str, Any], feed: dict[str, Any]) -> str | None:
    """Return the first author's name (1.1 `authors`, 1.0 `author`), falling back to the feed's."""
    for source in (item, feed):
        authors = source.get("authors")
        candidates = authors if isinstance(authors, list) else [source.get("author")]
        for author in candidates:
            if isinstance(author, dict) and _text(author.get("name")):
                return _text(author.get("name"), 500)
    return None


def _entry(item: dict[str, Any], feed: dict[str, Any], url: str, now: datetime) -> Entry:
    link = item.get("url") if isinstance(item.get("url"), str) else item.get("external_url")
    link = link if isinstance(link, str) and link.strip() else None
    canonical = canonical_url(link, url)
    title = _text(item.get("title"))
    content = item.get("content_html") if isinstance(item.get("content_html"), str) else None
    summary = item.get("summary") or item.get("content_text")
    summary = summary if isinstance(summary, str) else None
    guid = _text(item.get("id"), 2000) or None
    published, flagged = checked_date(
        _date(item.get("date_published")) or _date(item.get("date_modified")), now
    )
    attachments = item.get("attachments") if isinstance(item.get("attachments"), list) else []
    tags = item.get("tags") if isinstance(item.get("tags"), list) else []
    return Entry(
        guid=guid,
        guid_hash=identity_hash(guid, canonical, title, content or summary),
        url=urljoin(url, link.strip()) if link and canonical else None,
        canonical_url=canonical,
        title=title,
        author=_author(item, feed),
        summary=summary,
        content_html=content,
        published_at=published,
        date_flagged=flagged,
        tags=[t for t in dict.fromkeys(_text(t, 200) for t in tags) if t],
        enclosures=[
            {
                "url": a.get("url"),
                "type": a.get("mime_type"),
                "length": a.get("size_in_bytes")
                if isinstance(a.get("size_in_bytes"), int)
                else None,
            }
            for a in attachments
            if isinstance(a, dict) and isinstance(a.get("url"), str)
        ],
    )


def parse_json_feed(text: str, url: str, now: datetime) -> ParsedFeed:
    """Return a JSON Feed's entries; anything unreadable becomes a warning, never an exception."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:
        return ParsedFeed(
            None, None, [], warning=f"rss: {url}: invalid JSON: {one_line(exc)}", bozo=True
        )
    if not isinstance(data, dict) or not isinstance(data.get("items"), list):
        return ParsedFeed(
            None, None, [], warning=f"rss: {url}: JSON without a feed's items", bozo=True
        )
    version = str(data.get("version", ""))
    items = [i for i in data["items"] if isinstance(i, dict)]
    warning = None
    if "jsonfeed.org" not in version:
        warning = f"rss: {url}: JSON feed without a jsonfeed.org version"
    if len(items) != len(data["items"]):
        warning = f"rss: {url}: skipped {len(data['items']) - len(items)} malformed items"
    home = data.get("home_page_url") if isinstance(data.get("home_page_url"), str) else None
    return ParsedFeed(
        title=_text(data.get("title")) or None,
        link=canonical_url(home, url),
        entries=dedupe_entries([_entry(i, data, url, now) for i in items]),
        warning=warning,
        bozo=warning is not None,
    )
