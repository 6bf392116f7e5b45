"""Rank a week's stories by signals we have: sources, growth, engagement where known, recency."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, timedelta

from aggregator.recap.compose import StoryDigest, parse_week

# Engagement adds at most this: less than twice the sources add (coverage 3 + growth 1), so a
# busy Reddit thread on a story two outlets covered does not lead a week over one four
# outlets covered (the demo's W49 recap did: a 2-source discussion over a 4-source launch).
ENGAGEMENT_CAP = 3.0


def rank_score(
    story: StoryDigest, weights: Mapping[str, float], week_end: datetime | None = None
) -> float:
    """Return a story's weight in the recap from signals we have, scaled by its topics.

    Independent sources count most, then how much the story grew (items that joined
    it), then engagement where a source reports it (log-damped: a 14-point post does
    not outrank a story two outlets covered; capped below what twice the sources add, since
    only some sources report it at all), then recency within the week.
    """
    coverage = 3.0 * math.log2(max(story.source_count, 1))
    growth = 1.0 * math.log2(max(story.item_count, story.source_count, 1))
    engagement = 0.6 * math.log1p(max(story.score, 0)) + 0.3 * math.log1p(max(story.comments, 0))
    engagement = min(engagement, ENGAGEMENT_CAP)
    recency = 0.0
    if week_end is not None and story.published_at is not None:
        days = (week_end - story.published_at).total_seconds() / 86400
        recency = max(0.0, 1.0 - max(days, 0.0) / 7)
    factor = 1.0
    if story.topics:
        # A topic weighs in proportion to how sure the card is about it; the strongest one wins.
        factor = max(1.0 + (weights.get(slug, 1.0) - 1.0) * score for slug, score in story.topics)
    return (1.0 + coverage + growth + engagement + recency) * max(factor, 0.0)


def week_end(week: str) -> datetime:
    """Return the end of an ISO week (Monday 00:00 UTC after it)."""
    year, number = (int(x) for x in parse_week(week).split("-W"))
    monday = date.fromisocalendar(year, number, 1) + timedelta(days=7)
    return datetime(monday.year, monday.month, monday.day, tzinfo=UTC)


def select_stories(
    stories: Iterable[StoryDigest],
    weights: Mapping[str, float],
    limit: int,
    end: datetime | None = None,
) -> list[StoryDigest]:
    """Return the week's top `limit` stories, best first (ties: more sources, newer, lower id)."""

    def key(s: StoryDigest) -> tuple[float, int, float, int]:
        stamp = s.published_at.timestamp() if s.published_at else 0.0
        return (-rank_score(s, weights, end), -s.source_count, -stamp, s.id)

    return sorted(stories, key=key)[:limit]
