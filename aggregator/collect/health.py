"""Source health and schedule: next fetch time, error backoff, staleness, the status fields."""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from aggregator.settings import Settings

_MAX_AGE = re.compile(r"(?:^|[,\s])(s-maxage|max-age)\s*=\s*\"?(\d+)", re.IGNORECASE)


def cache_max_age(headers: dict[str, str]) -> int | None:
    """Return Cache-Control max-age in seconds (RFC 9111 §5.2.2.1), or None (also for no-store)."""
    value = headers.get("cache-control", "")
    if not value or "no-store" in value.lower():
        return None
    ages = [int(m.group(2)) for m in _MAX_AGE.finditer(value)]
    return max(ages) if ages else None


def next_interval(
    every: int,
    settings: Settings,
    *,
    ttl: int | None = None,
    max_age: int | None = None,
    retry_after: float | None = None,
) -> float:
    """Return seconds until the next fetch after a success.

    The source's own interval, stretched (never shortened) by what the publisher asked
    for: RSS <ttl>, Cache-Control max-age, Retry-After. Clamped to [min, max] interval.
    """
    fetch = settings.fetch
    wanted = max([every] + [v for v in (ttl, max_age, retry_after) if v])
    return float(min(fetch.max_interval, max(fetch.min_interval, wanted)))


def backoff_interval(
    consecutive_errors: int,
    every: int,
    settings: Settings,
    *,
    retry_after: float | None = None,
    rng: random.Random | None = None,
) -> float:
    """Return seconds until the next try after an error: exponential with jitter, capped.

    Doubles the source interval per consecutive error (jitter ±20% spreads retries of
    sources that failed together), never sooner than Retry-After, at most max_backoff.
    """
    fetch = settings.fetch
    base = max(fetch.min_interval, every) * 2 ** max(0, min(consecutive_errors, 30) - 1)
    jittered = min(base, fetch.max_backoff) * (rng or random).uniform(0.8, 1.2)
    return float(min(fetch.max_backoff, max(jittered, retry_after or 0, fetch.min_interval)))


def mean_gap(dates: Sequence[datetime]) -> float | None:
    """Return the mean gap in seconds between item dates (at least 3 dates), or None."""
    ordered = sorted(dates)
    if len(ordered) < 3:
        return None
    span = (ordered[-1] - ordered[0]).total_seconds()
    return span / (len(ordered) - 1) if span > 0 else None


def is_stale(
    last_item_at: datetime | None, gap: float | None, every: int, settings: Settings, now: datetime
) -> bool:
    """Return True when a source that usually posts has been silent too long.

    Too long is stale_factor times its usual gap (at least its fetch interval, since
    nothing can be seen sooner than that).
    """
    if last_item_at is None or gap is None:
        return False
    silent = (now - last_item_at).total_seconds()
    return silent > settings.fetch.stale_factor * max(gap, float(every))


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def _get(row: Any, name: str, default: Any = None) -> Any:
    return row.get(name, default) if isinstance(row, dict) else getattr(row, name, default)


def source_status(source: Any, settings: Settings, now: datetime) -> dict[str, Any]:
    """Return one source's `status --json` entry (DESIGN §4) from a Source row or a dict."""
    name = _get(source, "name")
    configured = settings.source(name)
    every = configured.every if configured else 1800
    extra = _get(source, "extra") or {}
    return {
        "name": name,
        "kind": _get(source, "kind"),
        "url": _get(source, "url"),
        "items": _get(source, "items_count", 0) or 0,
        "last_success_at": _iso(_get(source, "last_success_at")),
        "consecutive_errors": _get(source, "consecutive_errors", 0) or 0,
        "last_error": _get(source, "last_error"),
        "next_fetch_at": _iso(_get(source, "next_fetch_at")),
        "stale": is_stale(
            _get(source, "last_item_at"), _get(source, "mean_gap_seconds"), every, settings, now
        ),
        # Beyond the contract: why the numbers look the way they do.
        "last_warning": _get(source, "last_warning"),
        "fallback": _get(source, "fallback"),
        "disabled": bool(extra.get("disabled")) or bool(configured and not configured.enabled),
    }


def later(now: datetime, seconds: float) -> datetime:
    """Return now plus a number of seconds."""
    return now + timedelta(seconds=seconds)
