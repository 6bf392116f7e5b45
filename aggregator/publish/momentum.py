"""How a story is growing: coverage and engagement gained in the 24 hours up to its latest item."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from aggregator.publish.data import ItemRow
from aggregator.publish.render import iso_utc
from aggregator.publish.views import discussion

WINDOW_HOURS = 24


def _seen(item: ItemRow) -> datetime:
    """Return when we first saw an item (its publication time for rows without one)."""
    return item.collected_at or item.published_at


def first_seen_at(items: list[ItemRow]) -> str | None:
    """Return when the first item of the story reached us (ISO 8601 UTC), or None."""
    return iso_utc(min(_seen(i) for i in items)) if items else None


def momentum(items: list[ItemRow]) -> dict[str, Any] | None:
    """Return the sources, items and engagement a story gained in the window ending at as_of.

    The window ends at the story's latest item, so a published file stays true until the
    story changes; a planner compares `as_of` with the current time. Engagement is what the
    items first seen in the window carry (gains on older items are not tracked).
    """
    if not items:
        return None
    end = max(_seen(i) for i in items)
    start = end - timedelta(hours=WINDOW_HOURS)
    first_by_source: dict[str, datetime] = {}
    for item in items:
        seen = _seen(item)
        if item.source not in first_by_source or seen < first_by_source[item.source]:
            first_by_source[item.source] = seen
    recent = [i for i in items if _seen(i) > start]
    threads = [d for d in (discussion(i) for i in recent) if d]
    scores = [d["score"] for d in threads if d["score"] is not None]
    comments = [d["comments"] for d in threads if d["comments"] is not None]
    return {
        "window_hours": WINDOW_HOURS,
        "as_of": iso_utc(end),
        "sources": sum(1 for seen in first_by_source.values() if seen > start),
        "items": len(recent),
        "score": sum(scores) if scores else None,
        "comments": sum(comments) if comments else None,
    }
