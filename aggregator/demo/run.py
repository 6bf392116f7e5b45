"""`aggregator demo`: the whole pipeline, offline, on the bundled examples, into ./site."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from aggregator.config import load_settings, output_dir
from aggregator.context import open_context
from aggregator.db.models import Article, Card, Item, Recap, Source, Story
from aggregator.pipeline import available_stages, process_pending, run_once, run_stage
from aggregator.report import StageReport
from aggregator.settings import Settings

DEMO_DB = "aggregator-demo.db"


def demo_settings(directory: Path, base_url: str, reddit_url: str | None = None) -> Settings:
    """Return the demo's settings: examples served at base_url, a fresh SQLite DB, ./site."""
    from aggregator.demo.config import demo_settings_toml

    directory = directory.resolve()
    database = directory / DEMO_DB
    for suffix in ("", "-wal", "-shm"):
        # A fresh database every run: the demo shows the whole flow from nothing.
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    config = directory / ".aggregator-demo.toml"
    config.write_text(
        demo_settings_toml(
            base_url, directory / "site", f"sqlite:///{database}", reddit_url=reddit_url
        ),
        encoding="utf-8",
    )
    # The demo config file holds no secrets; an LLM comes from the environment if configured.
    env = {k: v for k, v in os.environ.items() if k != "AGGREGATOR_DATABASE_URL"}
    if reddit_url:
        # praw talks to the demo's loopback Reddit API; these are not real credentials.
        env.update(
            REDDIT_CLIENT_ID="demo-client",
            REDDIT_CLIENT_SECRET="demo-secret",
            REDDIT_USER_AGENT="aggregator-demo/0.1",
        )
    return load_settings(config, env=env)


def _counts(settings: Settings, ctx: object) -> dict[str, int]:
    with ctx.session() as session:  # type: ignore[attr-defined]
        return {
            "sources": session.scalar(select(func.count()).select_from(Source)) or 0,
            "items": session.scalar(select(func.count()).select_from(Item)) or 0,
            "stories": session.scalar(select(func.count()).select_from(Story)) or 0,
            "cards": session.scalar(select(func.count()).select_from(Card)) or 0,
            "recaps": session.scalar(select(func.count()).select_from(Recap)) or 0,
        }


def _recap_weeks(ctx: object) -> list[str]:
    """Return the ISO weeks that have stories, oldest first, excluding the current one."""
    zone = ZoneInfo(ctx.settings.schedule.timezone)  # type: ignore[attr-defined]
    year, week, _ = datetime.now(zone).isocalendar()
    now_week = f"{year}-W{week:02d}"
    with ctx.session() as session:  # type: ignore[attr-defined]
        weeks = sorted(w for (w,) in session.execute(select(Story.week).distinct()))
    return [w for w in weeks if w < now_week]


def run_demo(directory: Path, echo: Callable[[str], None] = print) -> Path:
    """Run the demo pipeline into directory/site and return the site's path."""
    from aggregator.demo.server import start_demo_server

    started = time.monotonic()
    directory.mkdir(parents=True, exist_ok=True)
    with start_demo_server() as server:
        settings = demo_settings(directory, server.base_url, getattr(server, "reddit_url", None))
        mode = f"LLM {settings.llm.model}" if settings.llm.enabled else "offline extractive mode"
        echo(f"demo: serving examples at {server.base_url} (loopback only); {mode}")
        ctx = open_context(settings)
        reports: list[StageReport] = run_once(ctx, publish=False)
        # Day 2: a follow-up report joins a published story, whose card becomes revision 2.
        server.content.day2 = True
        reports.append(run_stage(ctx, "collect", force=True))
        reports += process_pending(ctx)
        if "recap" in available_stages():
            for week in _recap_weeks(ctx):
                reports.append(run_stage(ctx, "recap", week=week))
        if "publish" in available_stages():
            reports.append(run_stage(ctx, "publish"))
        counts = _counts(settings, ctx)
        with ctx.session() as session:
            broken = session.scalars(
                select(Source).where(
                    (Source.consecutive_errors > 0) | Source.last_warning.is_not(None)
                )
            ).all()
            fallbacks = session.execute(
                select(Item.url, Article.error)
                .join(Article, Article.item_id == Item.id)
                .where(Article.error.is_not(None))
            ).all()
        ctx.engine.dispose()
    for report in reports:
        echo(f"  {report.summary()}")
    for source in broken:
        echo(f"  source {source.name!r}: {source.last_error or source.last_warning}")
    for url, error in fallbacks:
        echo(f"  article {url}: {error} (the feed's own text was used)")
    site = output_dir(settings)
    pages = sum(1 for _ in site.rglob("*.html")) if site.exists() else 0
    echo(
        f"demo: {counts['sources']} sources, {counts['items']} items, {counts['stories']} stories, "
        f"{counts['cards']} cards, {counts['recaps']} recaps, {pages} pages "
        f"in {time.monotonic() - started:.1f} s"
    )
    echo(f"demo: open {site / 'index.html'} or run `aggregator demo --serve`")
    return site
