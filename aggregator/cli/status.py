"""The service's state for `aggregator status`: sources' health, queues, spend, last publish/recap."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from aggregator.clock import utcnow
from aggregator.collect.health import source_status
from aggregator.db.claims import queue_depths
from aggregator.db.meta import get_meta
from aggregator.db.models import Delivery, Item, ItemJoin, Job, Recap, Source, Story
from aggregator.llm.store import spend_since
from aggregator.settings import Settings


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def _spend(session: Session, settings: Settings, now: datetime) -> dict[str, Any]:
    zone = ZoneInfo(settings.schedule.timezone)
    local = now.astimezone(zone)
    day_start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    week_start = day_start - timedelta(days=local.weekday())

    today, calls_today = spend_since(session, day_start)
    week, _ = spend_since(session, week_start)
    return {
        "today_usd": round(today, 6),
        "week_usd": round(week, 6),
        "budget_usd": settings.llm.daily_budget_usd,
        "calls_today": calls_today,
    }


def failed_jobs(session: Session, limit: int = 20) -> list[dict[str, Any]]:
    """Return the most recent jobs that failed for good, with their last error."""
    rows = session.scalars(
        select(Job).where(Job.status == "failed").order_by(Job.updated_at.desc()).limit(limit)
    )
    return [
        {
            "stage": j.stage,
            "subject_id": j.subject_id,
            "attempts": j.attempts,
            "last_error": j.last_error,
        }
        for j in rows
    ]


# The fetcher's refusal of a private, loopback or otherwise non-public address.
_REFUSED = re.compile(r"\brefused\b.*\baddress\b")


def next_try_reason(entry: dict[str, Any], every: int | None, now: datetime) -> str:
    """Return why a source is tried when it is: due, its interval, or backoff after errors."""
    if entry.get("disabled"):
        return "disabled: not fetched"
    due = entry.get("next_fetch_at")
    if due is None:
        return "due now (never fetched)"
    errors = entry.get("consecutive_errors") or 0
    if datetime.fromisoformat(due.replace("Z", "+00:00")) <= now:
        return "due now"
    if errors:
        reason = f"backoff after {errors} error{'s' if errors > 1 else ''}"
        if _REFUSED.search(entry.get("last_error") or ""):
            # The fetcher refuses private addresses; only the config can change that.
            reason += "; the address is not public: set [fetch] allow_private_networks = true"
        return reason + " (run --once --force fetches now)"
    return f"every {format_seconds(every)}" if every else "on its schedule"


def format_seconds(seconds: float) -> str:
    """Return a duration as people write it: 45s, 30m, 2h, 1d 6h."""
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m"
    if seconds < 86400:
        hours, minutes = divmod(seconds // 60, 60)
        return f"{hours}h" + (f" {minutes}m" if minutes else "")
    days, hours = divmod(seconds // 3600, 24)
    return f"{days}d" + (f" {hours}h" if hours else "")


def _source_entry(source: Source, settings: Settings, now: datetime) -> dict[str, Any]:
    """Return a source's status entry plus why and when it is tried next."""
    entry = source_status(source, settings, now)
    configured = settings.source(source.name)
    entry["next_reason"] = next_try_reason(entry, configured.every if configured else None, now)
    return entry


def recent_joins(session: Session, limit: int = 20) -> list[dict[str, Any]]:
    """Return the latest items that joined a story, with why (signal, score, matched member)."""
    matched = aliased(Item)
    rows = session.execute(
        select(ItemJoin, Item.title, Story.uid, matched.title)
        .join(Item, Item.id == ItemJoin.item_id)
        .join(Story, Story.id == ItemJoin.story_id)
        .outerjoin(matched, matched.id == ItemJoin.matched_item_id)
        .order_by(ItemJoin.joined_at.desc(), ItemJoin.item_id.desc())
        .limit(limit)
    )
    return [
        {
            "item_id": join.item_id,
            "title": title,
            "story_uid": uid,
            "joined_by": join.joined_by,
            "score": join.score,
            "matched_item_id": join.matched_item_id,
            "matched_title": matched_title,
            "joined_at": _iso(join.joined_at),
        }
        for join, title, uid, matched_title in rows
    ]


def delivery_status(session: Session, limit: int = 10) -> dict[str, Any]:
    """Return recap email deliveries by status, and the latest failures (no addresses shown)."""
    counts = dict(
        session.execute(select(Delivery.status, func.count()).group_by(Delivery.status)).all()
    )
    failed = session.scalars(
        select(Delivery)
        .where(Delivery.status == "failed")
        .order_by(Delivery.id.desc())
        .limit(limit)
    )
    return {
        "counts": {str(k): int(v) for k, v in sorted(counts.items())},
        "failures": [{"delivery_id": d.id, "attempts": d.attempts, "last_error": d.last_error}
                     for d in failed],
    }  # fmt: skip


def collect_status(
    session: Session, settings: Settings, now: datetime | None = None
) -> dict[str, Any]:
    """Return the whole status document (the `status --json` contract)."""
    now = now or utcnow()
    sources = session.scalars(select(Source).order_by(Source.name))
    last_recap = session.scalar(select(func.max(Recap.week)))
    return {
        "sources": [_source_entry(s, settings, now) for s in sources],
        "queue": queue_depths(session),
        "failed_items": failed_jobs(session),
        "spend": _spend(session, settings, now),
        "last_publish_at": get_meta(session, "last_publish_at"),
        "last_recap_week": last_recap,
        "recent_joins": recent_joins(session),
        "deliveries": delivery_status(session),
        "llm": {
            "mode": "llm" if settings.llm.enabled else "extractive",
            "model": settings.llm.model if settings.llm.enabled else None,
        },
    }
