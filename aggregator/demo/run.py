"""`aggregator demo`: the whole pipeline, offline, on the bundled examples, into ./site."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from aggregator.config import load_settings, output_dir
from aggregator.context import open_context
from aggregator.db.models import Article, Card, Item, Recap, Source, Story
from aggregator.demo.config import SITE_URL, load_faults
from aggregator.pipeline import process_pending, run_once, run_stage
from aggregator.report import StageReport
from aggregator.settings import Settings

DEMO_DB = "aggregator-demo.db"


def demo_settings(
    directory: Path, base_url: str, reddit_url: str | None = None, site_url: str = SITE_URL
) -> Settings:
    """Return the demo's settings: examples served at base_url, a fresh SQLite DB, ./site.

    site_url is the site's own address, used in every absolute URL it publishes.
    """
    from aggregator.demo.config import demo_settings_toml

    directory = directory.resolve()
    database = directory / DEMO_DB
    for suffix in ("", "-wal", "-shm"):
        # A fresh database every run: the demo shows the whole flow from nothing.
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    config = directory / ".aggregator-demo.toml"
    config.write_text(
        demo_settings_toml(
            base_url,
            directory / "site",
            f"sqlite:///{database}",
            reddit_url=reddit_url,
            site_url=site_url,
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


def run_demo(
    directory: Path,
    echo: Callable[[str], None] = print,
    *,
    port: int = 8000,
    serve: bool = False,
) -> Path:
    """Run the demo pipeline into directory/site and return the site's path.

    Every absolute URL on the site uses `port`. With `serve`, the site and the example outlets
    it links to are served from that port until Ctrl-C; otherwise the examples are served on
    any free port only while the pipeline runs.
    """
    from aggregator.demo.server import start_demo_server
    from aggregator.publish.server import serve_until_interrupted

    started = time.monotonic()
    directory = directory.resolve()
    directory.mkdir(parents=True, exist_ok=True)
    site_url = f"http://127.0.0.1:{port}/"
    with start_demo_server(site_dir=directory / "site", port=port if serve else 0) as server:
        settings = demo_settings(directory, server.base_url, server.reddit_url, site_url)
        mode = f"LLM {settings.llm.model}" if settings.llm.enabled else "offline extractive mode"
        echo(f"demo: serving examples at {server.base_url} (loopback only); {mode}")
        reports, counts, faults = _run_pipeline(settings, server.content)
        for report in reports:
            echo(f"  {report.summary()}")
        for line in _fault_lines(faults, server.base_url):
            echo(f"  {line}")
        site = output_dir(settings)
        pages = sum(1 for _ in site.rglob("*.html")) if site.exists() else 0
        echo(
            f"demo: {counts['sources']} sources, {counts['items']} items, "
            f"{counts['stories']} stories, {counts['cards']} cards, {counts['recaps']} recaps, "
            f"{pages} pages in {time.monotonic() - started:.1f} s"
        )
        if serve:
            serve_until_interrupted(server.site, echo, "the demo site and its example outlets")
        else:
            echo(f"demo: open {site / 'index.html'} or run `aggregator demo --serve`")
    return site


def _run_pipeline(
    settings: Settings, content: Any
) -> tuple[list[StageReport], dict[str, int], list[tuple[str, str, str]]]:
    """Return the stage reports, the counts and the faults seen: (kind, url, message)."""
    ctx = open_context(settings)
    try:
        reports: list[StageReport] = run_once(ctx, publish=False)
        # Day 2: a follow-up report joins a published story, whose card becomes revision 2.
        content.day2 = True
        reports.append(run_stage(ctx, "collect", force=True))
        reports += process_pending(ctx)
        for week in _recap_weeks(ctx):
            reports.append(run_stage(ctx, "recap", week=week))
        reports.append(run_stage(ctx, "publish"))
        counts = _counts(settings, ctx)
        with ctx.session() as session:
            broken = session.scalars(
                select(Source).where(
                    (Source.consecutive_errors > 0) | Source.last_warning.is_not(None)
                )
            ).all()
            faults = [
                ("source", s.url or "", f"source {s.name!r}: {s.last_error or s.last_warning}")
                for s in broken
            ]
            fallbacks = session.execute(
                select(Item.url, Article.error, Article.method, Article.word_count)
                .join(Article, Article.item_id == Item.id)
                .where(Article.error.is_not(None))
            ).all()
            faults += [
                ("article", url, f"article {url}: {error} ({_what_was_used(method, words)})")
                for url, error, method, words in fallbacks
            ]
    finally:
        ctx.engine.dispose()
    return reports, counts, faults


def _what_was_used(method: str, words: int) -> str:
    """Return what a card was made from when its article had an error or a warning."""
    if not words:
        return "no text in the page or the feed: the card shows the title"
    if method.startswith("feed"):
        return f"the feed's own text was used: {words} words"
    if method.startswith("reddit"):
        return f"the post's own text was used: {words} words"
    return f"{words} words of the page were kept"


def _fault_lines(faults: list[tuple[str, str, str]], base_url: str) -> list[str]:
    """Return one line per fault; the examples' intentional ones say so first."""
    expected = load_faults()
    lines = []
    for _kind, url, message in faults:
        why = expected.get(url.removeprefix(base_url.rstrip("/")))
        lines.append(f"expected: {why}: {message}" if why else message)
    return lines
