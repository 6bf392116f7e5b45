"""The per-feed entry cap (`[fetch] max_entries`): keep the newest entries, before parsing.

A feed of 100,000 entries costs feedparser minutes and hundreds of MB, so an XML feed with
more entries than the cap is cut down first: lxml (C, a few hundred bytes per element)
reads it, the newest entries by date are kept (feed order breaks ties) and the rest are
removed. `cap_rows` is the backstop after parsing (JSON Feed, or XML lxml could not read).
"""

from __future__ import annotations

import email.utils
import math
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from aggregator.collect.compact import ROW_FIELDS, CompactFeed

_DATE_TAGS = ("pubDate", "published", "updated", "date", "issued", "modified")
_PUBLISHED = ROW_FIELDS.index("published_at")


def _timestamp(text: str | None) -> float:
    """Return a feed date as a POSIX timestamp (RFC 822 or ISO 8601), -inf when unreadable."""
    text = (text or "").strip()
    if not text:
        return -math.inf
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        try:
            when = datetime.fromisoformat(text)
        except ValueError:
            return -math.inf
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()


def _entry_date(element: Any) -> float:
    """Return the newest date an <item>/<entry> element carries."""
    best = -math.inf
    for child in element:
        tag = child.tag if isinstance(child.tag, str) else ""
        if tag.rsplit("}", 1)[-1] in _DATE_TAGS:
            best = max(best, _timestamp(child.text))
    return best


def trim_feed(body: bytes, max_entries: int) -> tuple[bytes, int]:
    """Return (the feed with at most `max_entries` newest entries, how many were dropped)."""
    if body.count(b"<item") + body.count(b"<entry") <= max_entries:
        return body, 0  # cheap: most feeds never reach the parser below
    if body.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] != b"<":
        return body, 0  # JSON Feed: capped after parsing
    from lxml import etree

    parser = etree.XMLParser(recover=True, resolve_entities=False, no_network=True, huge_tree=False)
    try:
        root = etree.fromstring(body, parser)
    except etree.XMLSyntaxError:
        return body, 0
    if root is None:
        return body, 0
    entries = list(root.iter("{*}item", "{*}entry"))
    if len(entries) <= max_entries:
        return body, 0
    order = sorted(range(len(entries)), key=lambda i: (-_entry_date(entries[i]), i))
    for index in order[max_entries:]:
        element = entries[index]
        element.getparent().remove(element)
    return etree.tostring(root.getroottree(), xml_declaration=True, encoding="utf-8"), len(
        order
    ) - max_entries


def cap_rows(feed: CompactFeed, max_entries: int, dropped: int = 0, name: str = "") -> CompactFeed:
    """Return the feed with at most `max_entries` newest rows and a warning saying what went."""
    rows = feed.rows
    if len(rows) > max_entries:
        oldest = datetime.min.replace(tzinfo=UTC)
        order = sorted(range(len(rows)), key=lambda i: (rows[i][_PUBLISHED] or oldest, -i))
        keep = sorted(order[-max_entries:])
        dropped += len(rows) - max_entries
        rows = [rows[i] for i in keep]
    if not dropped:
        return feed
    note = (
        f"collect: {name or feed.title or 'feed'}: {dropped + len(rows)} entries, "
        f"kept the newest {len(rows)} ([fetch] max_entries)"
    )
    return replace(feed, rows=rows, warning=f"{feed.warning}; {note}" if feed.warning else note)
