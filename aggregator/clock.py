"""The one clock: aware UTC datetimes (stored as UTC by db/types.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime


def utcnow() -> datetime:
    """Return the current time as an aware UTC datetime."""
    return datetime.now(UTC)


def iso_week(when: date) -> str:
    """Return the ISO week of a date or datetime as YYYY-Www."""
    year, week, _ = when.isocalendar()
    return f"{year}-W{week:02d}"
