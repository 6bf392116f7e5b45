"""Factories for publish tests: sources, stories with items and cards, recaps in a real DB."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from aggregator.clock import iso_week
from aggregator.context import Context
from aggregator.db.models import Card, Item, Recap, Source, Story, StoryRelation, StoryTopic
from aggregator.llm.schema import Card as CardModel

BASE_TIME = datetime(2026, 11, 18, 9, 30, tzinfo=UTC)
TOPICS = [
    {
        "slug": "foundation-models",
        "name": "Foundation models & inference economics",
        "description": "New models, training, serving costs",
    },
    {"slug": "evaluation", "name": "Evaluation", "description": "Benchmarks and eval sets"},
]


def make_card(
    title: str = "Why public AI benchmarks fail production needs", **overrides: Any
) -> dict:
    """Return a valid card dict (llm/schema.py Card), with overrides."""
    card = {
        "title": title,
        "hook": "Stop trusting leaderboards: build an eval set from your own data.",
        "tldr": {
            "what_changed": "Public benchmarks reflect vendor-optimized performance.",
            "why_it_matters": "Leaderboards hide the edge cases that break production.",
            "what_to_do_next": "Sample 200 prompts from your logs into a frozen eval set.",
        },
        "key_takeaways": [
            {
                "text": "Benchmark contamination inflates scores.",
                "citations": ["models are increasingly trained on test set data"],
            },
            {"text": "A metric that becomes a target stops measuring.", "citations": []},
            {
                "text": "Latency and cost drive real model choice.",
                "citations": ["cost-per-token is often ignored"],
            },
        ],
        "technical_deep_dive": [
            {
                "text": "Hash datasets so metrics are reproducible.",
                "citations": ["hash-based tracking for datasets"],
            }
        ],
        "future_implications": [
            {
                "text": "Private eval suites become standard.",
                "citations": ["models are increasingly trained on test set data"],
            }
        ],
        "topics": [{"slug": "evaluation", "score": 0.9}],
        "entities": ["MMLU", "GSM8K", "OpenAI"],
        "timeliness": "evergreen",
    }
    card.update(overrides)
    return CardModel.model_validate(card).model_dump()


@dataclass
class SiteFactory:
    """Creates rows through a context's sessions."""

    ctx: Context
    counter: int = 0
    sources: dict[str, int] = field(default_factory=dict)

    def source(
        self,
        name: str = "Example blog",
        kind: str = "rss",
        url: str = "https://example.org/feed.xml",
    ) -> int:
        if name not in self.sources:
            with self.ctx.session() as s:
                row = Source(name=name, kind=kind, url=url)
                s.add(row)
                s.flush()
                self.sources[name] = row.id
        return self.sources[name]

    def story(
        self,
        title: str = "Why public AI benchmarks fail",
        *,
        card: dict | None = None,
        mode: str = "llm",
        published_at: datetime | None = None,
        items: list[dict] | None = None,
        topics: list[tuple[str, float]] | None = None,
        related: list[int] | None = None,
        grounded_ratio: float = 1.0,
        slug: str | None = None,
        updated_at: datetime | None = None,
    ) -> int:
        """Create a story with items (default: one RSS item) and a card; return its id."""
        self.counter += 1
        when = published_at or BASE_TIME - timedelta(hours=self.counter)
        items = items or [
            {"source": "Example blog", "url": f"https://example.org/a/{self.counter}"}
        ]
        card = card or make_card(title=title[:100])
        source_ids = [
            self.source(
                i["source"], i.get("kind", "rss"), i.get("source_url", "https://example.org/")
            )
            for i in items
        ]
        with self.ctx.session() as s:
            story = Story(
                uid=f"s{self.counter:08d}",
                slug=slug or f"story-{self.counter}",
                title=title,
                published_at=when,
                week=iso_week(when),
                item_count=len(items),
                source_count=len({i["source"] for i in items}),
            )
            s.add(story)
            s.flush()
            for n, spec in enumerate(items):
                item = Item(
                    source_id=source_ids[n],
                    guid_hash=hashlib.sha256(f"{self.counter}-{n}".encode()).hexdigest(),
                    url=spec.get("url"),
                    title=spec.get("title", title),
                    author=spec.get("author"),
                    published_at=when,
                    story_id=story.id,
                    kind=spec.get("kind", "feed"),
                    engagement=spec.get("engagement", {}),
                    collected_at=spec.get("collected_at", when),
                )
                s.add(item)
                s.flush()
                if n == 0:
                    story.primary_item_id = item.id
            for slug_, score in topics if topics is not None else [("evaluation", 0.9)]:
                s.add(StoryTopic(story_id=story.id, topic_slug=slug_, score=score))
            for other in related or []:
                s.add(StoryRelation(story_id=story.id, related_story_id=other, score=0.5))
            s.add(
                Card(
                    story_id=story.id,
                    card=card,
                    mode=mode,
                    model="gpt-4o-mini" if mode == "llm" else None,
                    prompt_name="summarize_item" if mode == "llm" else None,
                    prompt_version="v1" if mode == "llm" else None,
                    grounded_ratio=grounded_ratio,
                    content_hash=hashlib.sha256(repr(card).encode()).hexdigest(),
                    updated_at=updated_at or when + timedelta(minutes=5),
                )
            )
            return story.id

    def update_card(self, story_id: int, **changes: Any) -> None:
        with self.ctx.session() as s:
            card = s.query(Card).filter_by(story_id=story_id).one()
            card.card = {**card.card, **changes}
            card.updated_at = card.updated_at + timedelta(hours=1)

    def recap(self, week: str, title: str, recap: dict, revision: int = 1, **kw: Any) -> None:
        with self.ctx.session() as s:
            s.add(
                Recap(
                    week=week,
                    revision=revision,
                    title=title,
                    recap=recap,
                    mode=kw.get("mode", "llm"),
                    model=kw.get("model", "gpt-4o-mini"),
                    story_ids=kw.get("story_ids", []),
                    created_at=kw.get("created_at", BASE_TIME),
                )
            )


@pytest.fixture
def pub_ctx(make_settings: Any) -> Iterator[Context]:
    """Return a context with two configured topics, search off, 3 items per page."""
    from aggregator.context import open_context

    context = open_context(
        make_settings(topics=TOPICS, site={"search": False, "items_per_page": 3})
    )
    yield context
    context.engine.dispose()


@pytest.fixture
def pub_any_ctx(make_settings: Any, db_url: str) -> Iterator[Context]:
    """Return pub_ctx's settings on SQLite, then on PostgreSQL when configured."""
    from aggregator.context import open_context

    context = open_context(
        make_settings(
            topics=TOPICS, database={"url": db_url}, site={"search": False, "items_per_page": 3}
        )
    )
    yield context
    context.engine.dispose()


@pytest.fixture
def factory(pub_ctx: Context) -> SiteFactory:
    """Return a row factory bound to pub_ctx."""
    return SiteFactory(pub_ctx)


@pytest.fixture
def site_dir(pub_ctx: Context) -> Path:
    """Return the configured output directory."""
    from aggregator.config import output_dir

    return output_dir(pub_ctx.settings)
