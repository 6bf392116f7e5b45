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
from aggregator.db.models import Delivery, Job, LLMCall, Recap, Source
from aggregator.settings import Settings


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def _spend(session: Session, settings: Settings, now: datetime) -> dict[str, Any]:
    zone = ZoneInfo(settings.schedule.timezone)
    local = now.astimezone(zone)
    day_start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    week_start = day_start - timedelta(days=local.weekday())

    def total(since: datetime) -> tuple[float, int]:
        cost, calls = session.execute(
            select(func.coalesce(func.sum(LLMCall.cost_usd), 0.0), func.count()).where(
                LLMCall.created_at >= since, LLMCall.cached.is_(False)
            )
        ).one()
        return float(cost), int(calls)

    today, calls_today = total(day_start)
    week, _ = total(week_start)
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
        "sources": [source_status(s, settings, now) for s in sources],
        "queue": queue_depths(session),
        "failed_items": failed_jobs(session),
        "spend": _spend(session, settings, now),
        "last_publish_at": get_meta(session, "last_publish_at"),
        "last_recap_week": last_recap,
        "deliveries": delivery_status(session),
        "llm": {
            "mode": "llm" if settings.llm.enabled else "extractive",
            "model": settings.llm.model if settings.llm.enabled else None,
        },
    }
