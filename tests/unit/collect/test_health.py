"""Schedule (interval, backoff), staleness, status fields, Retry-After and Cache-Control."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from aggregator.collect.fetch import parse_retry_after
from aggregator.collect.health import (
    backoff_interval,
    cache_max_age,
    is_stale,
    mean_gap,
    next_interval,
    source_status,
)
from aggregator.settings import Settings

NOW = datetime(2026, 11, 5, 12, tzinfo=UTC)


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings(
        sources=[
            {"kind": "rss", "name": "Blog", "url": "https://blog.example.org/feed", "every": "30m"}
        ],
    )


def test_next_interval_uses_source_interval(settings: Settings) -> None:
    assert next_interval(1800, settings) == 1800


def test_next_interval_stretches_for_ttl_max_age_and_retry_after(settings: Settings) -> None:
    assert next_interval(1800, settings, ttl=5400) == 5400
    assert next_interval(1800, settings, max_age=7200) == 7200
    assert next_interval(1800, settings, retry_after=4000, max_age=60) == 4000


def test_next_interval_is_clamped(settings: Settings) -> None:
    assert next_interval(10, settings) == 300  # min 5 minutes
    assert next_interval(1800, settings, ttl=10 * 86400) == 86400  # max 24 hours


def test_backoff_interval_grows_and_caps(settings: Settings) -> None:
    rng = random.Random(1)
    delays = [backoff_interval(n, 1800, settings, rng=rng) for n in range(1, 12)]
    assert 1800 * 0.8 <= delays[0] <= 1800 * 1.2
    assert 3600 * 0.8 <= delays[1] <= 3600 * 1.2
    assert all(d <= 86400 for d in delays)
    assert delays[-1] >= 86400 * 0.8


def test_backoff_interval_respects_retry_after(settings: Settings) -> None:
    assert backoff_interval(1, 1800, settings, retry_after=20000) == 20000
    assert backoff_interval(1, 1800, settings, retry_after=10**9) == 86400


def test_mean_gap_and_staleness(settings: Settings) -> None:
    dates = [NOW - timedelta(hours=h) for h in (0, 2, 4, 6)]
    assert mean_gap(dates) == 7200
    assert mean_gap(dates[:2]) is None
    # Stale after stale_factor (4) times max(gap, interval).
    assert not is_stale(NOW, 7200, 1800, settings, NOW + timedelta(hours=7))
    assert is_stale(NOW, 7200, 1800, settings, NOW + timedelta(hours=9))
    assert not is_stale(None, 7200, 1800, settings, NOW)
    assert not is_stale(NOW, None, 1800, settings, NOW + timedelta(days=30))


def test_source_status_has_contract_fields(settings: Settings) -> None:
    row = {
        "name": "Blog",
        "kind": "rss",
        "url": "https://blog.example.org/feed",
        "items_count": 12,
        "last_success_at": NOW,
        "consecutive_errors": 2,
        "last_error": "fetch: https://blog.example.org/feed: HTTP 500",
        "next_fetch_at": NOW + timedelta(hours=1),
        "last_item_at": NOW - timedelta(days=3),
        "mean_gap_seconds": 3600.0,
        "extra": {},
    }
    status = source_status(row, settings, NOW)
    assert {
        "name",
        "kind",
        "url",
        "items",
        "last_success_at",
        "consecutive_errors",
        "last_error",
        "next_fetch_at",
        "stale",
    } <= set(status)
    assert status["items"] == 12 and status["consecutive_errors"] == 2
    assert status["last_success_at"] == "2026-11-05T12:00:00Z"
    assert status["next_fetch_at"] == "2026-11-05T13:00:00Z"
    assert status["stale"] is True
    assert status["disabled"] is False


def test_source_status_of_unconfigured_source_is_disabled(settings: Settings) -> None:
    row = {
        "name": "Gone",
        "kind": "rss",
        "url": "https://gone.example/",
        "items_count": 0,
        "consecutive_errors": 0,
        "extra": {"disabled": True},
    }
    status = source_status(row, settings, NOW)
    assert status["disabled"] is True and status["stale"] is False
    assert status["last_success_at"] is None


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("max-age=600", 600),
        ("public, s-maxage=900, max-age=60", 900),
        ("no-store, max-age=60", None),
        ("no-cache", None),
        ("", None),
        ('max-age="120"', 120),
    ],
)
def test_cache_max_age(header: str, expected: int | None) -> None:
    assert cache_max_age({"cache-control": header}) == expected


def test_parse_retry_after_seconds_and_dates() -> None:
    assert parse_retry_after("120") == 120.0
    when = datetime.now(UTC) + timedelta(seconds=300)
    assert 290 <= parse_retry_after(format_datetime(when, usegmt=True)) <= 301
    assert parse_retry_after("Mon, 01 Jan 2001 00:00:00 GMT") == 0.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None
