"""Fixtures for the LLM engine: a scripted OpenAI-compatible server and stories to summarize."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from aggregator.clock import utcnow
from aggregator.context import Context, open_context
from aggregator.db import claims
from aggregator.db.models import Article, Item, Source, Story
from aggregator.settings import Settings
from tests.servers.openai_server import FakeOpenAI

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "llm"
API_KEY = "sk-test-abcdefghijklmnop1234"
TOPICS = [
    {"slug": "inference-economics", "name": "Inference economics",
     "description": "Serving costs, token prices, GPUs and batching",
     "keywords": ["price", "tokens", "GPU"]},
    {"slug": "robotics", "name": "Robotics", "description": "Robots and their software"},
]  # fmt: skip
# Fast retries so fault tests stay well under a second.
FAST = {"backoff_base": 0.01, "backoff_cap": 0.05}


def fixture_text(name: str) -> str:
    """Return a fixture file's text."""
    return (FIXTURES / name).read_text(encoding="utf-8")


def fixture_json(name: str) -> dict[str, Any]:
    """Return a fixture file's JSON."""
    return json.loads(fixture_text(name))


@pytest.fixture
def openai_server() -> Iterator[FakeOpenAI]:
    """Return a running scripted server on 127.0.0.1."""
    with FakeOpenAI() as server:
        yield server


@pytest.fixture
def llm_settings(
    make_settings: Callable[..., Settings], openai_server: FakeOpenAI, db_url: str
) -> Callable[..., Settings]:
    """Return a factory of settings pointing at the scripted server, on SQLite and PostgreSQL."""

    def factory(**llm: Any) -> Settings:
        section = {
            "base_url": openai_server.url,
            "api_key": API_KEY,
            "model": "test-model",
            "timeout": 2,
            "max_retries": 1,
            "pricing": {"test-model": {"input": 1.0, "output": 2.0}},
            # The scripted replies here quote the article (v1); sentence-number tests pass v2.
            "item_prompt": "summarize_item/v1",
            **llm,
        }
        return make_settings(llm=section, topics=TOPICS, database={"url": db_url})

    return factory


@pytest.fixture
def llm_ctx(llm_settings: Callable[..., Settings]) -> Iterator[Context]:
    """Return a context on a migrated SQLite database with the LLM configured."""
    context = open_context(llm_settings())
    context.extras["llm_client"] = FAST
    yield context
    context.engine.dispose()


def add_story(
    ctx: Context,
    title: str,
    text: str,
    *,
    source: str = "Example blog",
    engagement: dict | None = None,
    age_hours: float = 1.0,
    source_count: int = 1,
    enqueue: bool = True,
) -> int:
    """Insert a source, item, article and story, queue it for summarizing; return the story id."""
    published = utcnow() - timedelta(hours=age_hours)
    with ctx.session() as session:
        src = session.query(Source).filter_by(name=source).one_or_none()
        if src is None:
            src = Source(name=source, kind="rss", url="http://127.0.0.1/feed.xml")
            session.add(src)
            session.flush()
        item = Item(
            source_id=src.id,
            guid_hash=f"{title}-{published.timestamp()}"[:64],
            title=title,
            url="http://127.0.0.1/a",
            published_at=published,
            engagement=engagement or {},
        )
        session.add(item)
        session.flush()
        session.add(
            Article(item_id=item.id, text=text, method="test", word_count=len(text.split()))
        )
        story = Story(
            uid=f"u{item.id}",
            slug=f"s{item.id}",
            primary_item_id=item.id,
            title=title,
            published_at=published,
            week="2026-W47",
            source_count=source_count,
        )
        session.add(story)
        session.flush()
        item.story_id = story.id
        if enqueue:
            queue_story(session, story.id)
        return story.id


def queue_story(session: Session, story_id: int) -> None:
    """Queue a story for summarizing (again, if it was done)."""
    claims.enqueue(session, "summarize", [story_id], reset=True)
