"""run_extract: transient errors retried or recorded, robots and raw-HTML options, worker pool."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import select

import aggregator.extract.stage as extract_stage
from aggregator.clock import utcnow
from aggregator.context import Context
from aggregator.db.models import Article, Job
from aggregator.extract.stage import run_extract
from tests.integration.extract.conftest import HTML, fixture_page, item_factory
from tests.servers.feed_server import FeedServer

pytestmark = pytest.mark.integration
FEED_TEXT = "<p>" + " ".join(f"feedword{i}" for i in range(80)) + "</p>"


def job_of(ctx: Context, stage: str, item_id: int) -> Job:
    with ctx.session() as session:
        return session.scalars(
            select(Job).where(Job.stage == stage, Job.subject_id == item_id)
        ).one()


def article_of(ctx: Context, item_id: int) -> Article | None:
    with ctx.session() as session:
        return session.scalars(select(Article).where(Article.item_id == item_id)).one_or_none()


def test_extract_transient_error_retries_or_keeps_feed_text(
    pipeline_ctx: Context, page_server: FeedServer, make_item: Callable[..., int]
) -> None:
    page_server.add("/busy", b"try later", status=503, headers={"Retry-After": "120"}, etag=False)
    page_server.add("/gone", b"no", status=404, etag=False)
    bare = make_item("Wire", page_server.url("/busy"), title="No text of its own")
    with_text = make_item(
        "Wire", page_server.url("/busy"), title="Has feed text", content_html=FEED_TEXT
    )
    gone = make_item("Wire", page_server.url("/gone"), title="Gone")
    report = run_extract(pipeline_ctx)
    assert (report.succeeded, report.failed) == (2, 1)
    # Nothing usable yet: back to the queue, after the server's Retry-After.
    job = job_of(pipeline_ctx, "extract", bare)
    assert job.status == "pending" and "HTTP 503" in job.last_error
    assert job.next_attempt_at >= utcnow() + timedelta(seconds=100)
    assert article_of(pipeline_ctx, bare) is None
    # The feed's own text is kept, the error recorded, the item moves on.
    kept = article_of(pipeline_ctx, with_text)
    assert kept.method == "feed" and kept.word_count == 80 and "HTTP 503" in kept.error
    assert job_of(pipeline_ctx, "dedupe", with_text).status == "pending"
    # A permanent error is not retried: an empty article records it.
    lost = article_of(pipeline_ctx, gone)
    assert lost.method == "none" and "HTTP 404" in lost.error


def test_extract_gives_up_retrying_after_max_attempts(
    pipeline_ctx: Context, page_server: FeedServer, make_item: Callable[..., int]
) -> None:
    page_server.add("/busy", b"", status=503, etag=False)
    item = make_item("Wire", page_server.url("/busy"))
    for _ in range(extract_stage.MAX_FETCH_ATTEMPTS):
        with pipeline_ctx.session() as session:
            for job in session.scalars(select(Job).where(Job.stage == "extract")):
                job.next_attempt_at = utcnow() - timedelta(seconds=1)
        run_extract(pipeline_ctx)
    assert job_of(pipeline_ctx, "extract", item).status == "done"
    assert "HTTP 503" in article_of(pipeline_ctx, item).error
    assert page_server.hits["/busy"] == extract_stage.MAX_FETCH_ATTEMPTS


def test_extract_robots_can_be_ignored_and_raw_html_kept(
    ctx: Context, make_settings: Callable[..., object], page_server: FeedServer
) -> None:
    from tests.integration.extract.conftest import SOURCES, TOPICS

    ctx.settings = make_settings(
        sources=SOURCES,
        topics=TOPICS,
        fetch={"respect_robots": False},
        retention={"raw_html_days": 7},
    )
    page_server.add(
        "/private/ferry", fixture_page("boilerplate_heavy_article.html"), content_type=HTML
    )
    item = item_factory(ctx)("Wire", page_server.url("/private/ferry"))
    run_extract(ctx)
    article = article_of(ctx, item)
    assert article.method == "trafilatura" and article.error is None
    assert article.raw_html and "cookie-banner" in article.raw_html
    assert page_server.hits["/robots.txt"] == 0


def test_extract_uses_a_process_pool_for_big_batches(
    ctx: Context,
    make_settings: Callable[..., object],
    page_server: FeedServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tests.integration.extract.conftest import SOURCES, TOPICS

    ctx.settings = make_settings(sources=SOURCES, topics=TOPICS)
    monkeypatch.setattr(extract_stage, "PROCESS_POOL_MIN_PAGES", 2)
    monkeypatch.setattr(extract_stage.os, "cpu_count", lambda: 2)
    make = item_factory(ctx)
    page_server.add("/ferry", fixture_page("boilerplate_heavy_article.html"), content_type=HTML)
    page_server.add(
        "/budget", fixture_page("windows1252_meta_charset.html"), content_type="text/html"
    )
    ids = [make("Wire", page_server.url("/ferry")), make("Wire", page_server.url("/budget"))]
    try:
        report = run_extract(ctx)
        assert report.succeeded == 2
        assert extract_stage._POOL_KEY in ctx.extras
        texts = [article_of(ctx, i).text for i in ids]
        assert "Port Elwen" in texts[0] and "€3.2 million" in texts[1]
    finally:
        pool = ctx.extras.pop(extract_stage._POOL_KEY, None)
        if pool is not None:
            pool.shutdown()
