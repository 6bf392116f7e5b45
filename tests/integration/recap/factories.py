"""Story, card and subscriber rows for recap and mail tests (written through the real models)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from aggregator.db.models import Card, Item, Source, Story, StoryTopic


def week_time(week: str, weekday: int = 3) -> datetime:
    """Return noon UTC on a weekday of an ISO week such as 2026-W47."""
    year, number = week.split("-W")
    return datetime.combine(date.fromisocalendar(int(year), int(number), weekday), time(12), UTC)


def source(session: Session, name: str) -> Source:
    """Return the source row of this name, created if needed."""
    row = session.scalar(select(Source).where(Source.name == name))
    if row is None:
        row = Source(
            name=name, kind="rss", url=f"https://{name.lower().replace(' ', '-')}.example/feed"
        )
        session.add(row)
        session.flush()
    return row


def add_story(
    session: Session,
    week: str,
    title: str,
    *,
    hook: str | None = None,
    topics: list[tuple[str, float]] | None = None,
    score: int = 0,
    comments: int = 0,
    source_count: int = 1,
    source_name: str = "Example blog",
    url: str | None = None,
    card: bool = True,
    next_step: str = "",
) -> Story:
    """Insert a story with its primary item and (by default) an extractive card; return it."""
    published = week_time(week)
    key = uuid.uuid4().hex
    item = Item(source_id=source(session, source_name).id, guid_hash=key, title=title,
                url=url or f"https://news.example/{key[:8]}", published_at=published,
                engagement={"score": score, "comments": comments})  # fmt: skip
    session.add(item)
    session.flush()
    story = Story(uid=key[:16], slug=key[:12], primary_item_id=item.id, title=title,
                  published_at=published, week=week, source_count=source_count)  # fmt: skip
    session.add(story)
    session.flush()
    item.story_id = story.id
    if card:
        session.add(Card(story_id=story.id, card=card_json(title, hook, topics, next_step),
                         mode="extractive", content_hash=key))  # fmt: skip
        for slug, value in topics or []:
            session.add(StoryTopic(story_id=story.id, topic_slug=slug, score=value))
    session.flush()
    return story


def card_json(
    title: str, hook: str | None, topics: list[tuple[str, float]] | None, next_step: str
) -> dict[str, Any]:
    """Return a minimal card as the summarize stage stores it."""
    return {
        "title": title,
        "hook": hook or f"Why {title} matters",
        "tldr": {
            "what_changed": title,
            "why_it_matters": "It changes costs.",
            "what_to_do_next": next_step,
        },
        "key_takeaways": [],
        "technical_deep_dive": [],
        "future_implications": [],
        "topics": [{"slug": s, "score": v} for s, v in topics or []],
        "entities": [],
        "timeliness": "time-bound",
    }
