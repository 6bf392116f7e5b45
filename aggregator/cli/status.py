"""The service's state for `aggregator status`: sources' health, queues, spend, last publish/recap."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from aggregator.clock import utcnow
from aggregator.collect.health import source_status
from aggregator.db.claims import queue_depths
from aggregator.db.meta import get_meta
from aggregator.db.models import Job, Recap, Source
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


def collect_status(
    session: Session, settings: Settings, now: datetime | None = None
) -> dict[str, Any]:
    """Return the whole status document (the `status --json` contract)."""
    now = now or utcnow()
    sources = session.scalars(select(Source).order_by(Source.name))
    last_recap = session.scalar(select(func.max(Recap.week)))
    return {
        "sources": [source_status(s, settings, now) for s in sources],
        "queue": queue_depths(session),
        "failed_items": failed_jobs(session),
        "spend": _spend(session, settings, now),
        "last_publish_at": get_meta(session, "last_publish_at"),
        "last_recap_week": last_recap,
        "llm": {
            "mode": "llm" if settings.llm.enabled else "extractive",
            "model": settings.llm.model if settings.llm.enabled else None,
        },
    }
