"""Crash safety: `aggregator run --once` killed with SIGKILL inside each stage, then run again,
loses no item, duplicates no story or card, pays no recorded LLM call twice, and leaves a
complete, consistent site."""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Callable
from pathlib import Path

import feedparser
import pytest
from sqlalchemy import func, select

from aggregator.config import load_settings
from aggregator.context import Context, open_context
from aggregator.db.models import Article, Card, Item, LLMCall, Story
from tests.integration.ops.conftest import NewsSite, aggregator_process
from tests.servers.openai_server import FakeOpenAI

pytestmark = pytest.mark.integration
ITEMS = 100


def count(ctx: Context, model: type, *where: object) -> int:
    with ctx.session() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def staging_exists(site_dir: Path) -> bool:
    return any(site_dir.parent.glob(f".{site_dir.name}.staging-*"))


KILL_POINTS: dict[str, Callable[[Context, Path], bool]] = {
    "collect": lambda ctx, site: count(ctx, Item) > 0,
    "extract": lambda ctx, site: count(ctx, Article) >= 20,
    "summarize": lambda ctx, site: count(ctx, Card) >= 10,
    "publish": lambda ctx, site: staging_exists(site),
}


@pytest.mark.parametrize("stage", list(KILL_POINTS))
def test_run_once_survives_sigkill(stage: str, news_site: NewsSite, tmp_path: Path) -> None:
    config = news_site.config(
        tmp_path / "aggregator.toml",
        f"sqlite:///{tmp_path / 'crash.db'}",
        llm="[llm]\nmax_concurrency = 4\nmax_items_per_run = 1000\ndaily_budget_usd = 100.0",
    )
    settings = load_settings(config, env={})
    site_dir = tmp_path / "site"
    with FakeOpenAI(delay=0.05) as llm:
        env = {"OPENAI_BASE_URL": llm.url, "OPENAI_API_KEY": "sk-test-not-a-secret"}
        first = aggregator_process(config, "run", "--once", env=env)
        ctx = open_context(settings)
        deadline = time.monotonic() + 120
        while first.poll() is None and time.monotonic() < deadline:
            if KILL_POINTS[stage](ctx, site_dir):
                break
            time.sleep(0.005)
        killed = first.poll() is None
        first.send_signal(signal.SIGKILL)
        first.wait()
        second = aggregator_process(config, "run", "--once", env=env)
        _, err = second.communicate(timeout=300)
        assert second.returncode == 0, err

    assert killed or stage == "publish", f"the run finished before reaching {stage}"
    assert count(ctx, Item) == ITEMS
    assert count(ctx, Item, Item.story_id.is_(None)) == 0
    stories = count(ctx, Story)
    assert count(ctx, Card) == stories
    with ctx.session() as session:
        twice = session.execute(
            select(LLMCall.subject, func.count())
            .where(LLMCall.cached.is_(False), LLMCall.status == "ok")
            .group_by(LLMCall.subject)
            .having(func.count() > 1)
        ).all()
        uids = set(session.scalars(select(Story.uid)))
    assert twice == [], "a recorded LLM call was paid twice"
    # The site is complete: a page and an API record per story, and the feeds parse.
    assert not staging_exists(site_dir)
    assert len(list((site_dir / "items").glob("*/*/*/index.html"))) == stories
    assert {p.stem for p in (site_dir / "api" / "items").glob("*.json")} == uids
    listing = json.loads((site_dir / "api" / "items.json").read_text())
    assert listing["total"] == stories
    feed = feedparser.parse((site_dir / "feeds" / "items.xml").read_bytes())
    assert not feed.bozo and len(feed.entries) > 0
    ctx.engine.dispose()
