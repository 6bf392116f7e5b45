"""Story identity: public ids, slugs, weeks, and which item a story shows first."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any


def rank(
    priority: int, engagement: dict[str, Any] | None, published_at: datetime, item_id: int
) -> tuple:
    """Return a sort key for choosing a story's primary item: lowest wins."""
    engagement = engagement or {}
    heat = float(engagement.get("score") or 0) + float(engagement.get("comments") or 0)
    return (-priority, -heat, published_at, item_id)


def story_uid(identity: str, attempt: int = 0) -> str:
    """Return a stable 12-hex public id for a story from its first item's identity."""
    salt = f"#{attempt}" if attempt else ""
    return hashlib.sha256(f"story:{identity}{salt}".encode()).hexdigest()[:12]
