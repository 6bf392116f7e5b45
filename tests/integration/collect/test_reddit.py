"""Reddit through praw against the local Reddit-shaped API, and the public-RSS fallback."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from aggregator.clock import utcnow
from aggregator.collect.fetch import Fetcher
from aggregator.collect.reddit import RedditError, collect_subreddit, make_reddit
from aggregator.collect.stage import run_collect
from aggregator.context import open_context
from aggregator.db.models import Item, Source
from aggregator.demo.reddit_api import RedditAPIServer
from aggregator.settings import RedditSource, Settings

pytestmark = pytest.mark.integration

POSTS = [
    {
        "id": "l1",
        "title": "New open model beats last year's best",
        "score": 420,
        "num_comments": 3,
        "url": "https://lab.example.com/blog/new-model?utm_source=reddit",
        "author": "modelwatcher",
        "link_flair_text": "News",
        "created_utc": 1767225600.0,
    },
    {
        "id": "s1",
        "title": "How do you serve 70B models cheaply?",
        "is_self": True,
        "selftext": "Asking for a friend.",
        "selftext_html": "<p>Asking for a friend.</p>",
        "score": 55,
        "num_comments": 0,
    },
    {"id": "st", "title": "Weekly thread", "stickied": True, "score": 999, "num_comments": 10},
    {
        "id": "nsfw",
        "title": "Not for work",
        "over_18": True,
        "score": 300,
        "url": "https://nsfw.example.com/x",
    },
    {"id": "low", "title": "Low score", "score": 2, "url": "https://low.example.com/"},
]
COMMENTS = {
    "l1": [
        {"body": "Weights are on the hub.", "score": 40, "author": "a1"},
        {"body": "Mod note", "score": 1, "stickied": True},
        {"body": "Benchmarks look cherry-picked.", "score": 25, "author": "a2"},
        {"body": "Third comment", "score": 3},
    ]
}


@pytest.fixture
def api() -> Iterator[RedditAPIServer]:
    with RedditAPIServer({"MachineLearning": POSTS, "closed": []}, comments=COMMENTS) as server:
        yield server


@pytest.fixture
def reddit_settings(
    make_settings: Callable[..., Settings], api: RedditAPIServer
) -> Callable[..., Settings]:
    def factory(credentials: bool = True, **source: Any) -> Settings:
        reddit = {"oauth_url": api.url, "reddit_url": api.url, "rss_url": api.url}
        if credentials:
            reddit |= {
                "client_id": "local-id",
                "client_secret": "local-secret",
                "user_agent": "aggregator tests by the aggregator developers",
            }
        config = {
            "kind": "reddit",
            "name": "r/ML",
            "subreddit": "MachineLearning",
            "listing": "top",
            "time_filter": "week",
            "min_score": 10,
            "top_comments": 2,
            **source,
        }
        return make_settings(reddit=reddit, sources=[config])

    return factory


def collect(settings: Settings, etag: str | None = None) -> Any:
    source = settings.sources[0]
    assert isinstance(source, RedditSource)
    fetcher = Fetcher(settings.fetch, settings.site.base_url)
    try:
        reddit = (
            make_reddit(settings.reddit, fetcher.user_agent, 5)
            if settings.reddit.has_credentials
            else None
        )
        return collect_subreddit(source, settings.reddit, fetcher, reddit=reddit, etag=etag)
    finally:
        fetcher.close()


def test_collect_subreddit_reads_api_with_filters(
    reddit_settings: Callable[..., Settings], api: RedditAPIServer
) -> None:
    result = collect(reddit_settings())
    assert result.fallback is None and result.feed.warning is None
    entries = {e.guid: e for e in result.feed.entries}
    assert set(entries) == {"t3_l1", "t3_s1"}  # stickied, NSFW and low score skipped
    link, own = entries["t3_l1"], entries["t3_s1"]
    assert (
        link.kind == "link"
        and link.url == "https://lab.example.com/blog/new-model?utm_source=reddit"
    )
    assert link.canonical_url == "https://lab.example.com/blog/new-model"
    assert link.engagement["score"] == 420 and link.engagement["comments"] == 3
    assert link.engagement["permalink"].startswith(api.url + "/r/MachineLearning/comments/l1/")
    assert [c["text"] for c in link.engagement["top_comments"]] == [
        "Weights are on the hub.",
        "Benchmarks look cherry-picked.",
    ]
    assert link.tags == ["News"] and link.author == "modelwatcher"
    assert own.kind == "self" and own.content_html == "<p>Asking for a friend.</p>"
    assert own.url == own.engagement["permalink"]
    assert ("GET", "/comments/s1/") not in api.requests  # no comments: no request
    assert ("GET", "/r/MachineLearning/top") in api.requests


def test_collect_subreddit_without_credentials_uses_rss(
    reddit_settings: Callable[..., Settings], api: RedditAPIServer
) -> None:
    result = collect(reddit_settings(credentials=False))
    assert result.fallback == "rss" and "no Reddit API credentials" in result.feed.warning
    assert not any(path == "/api/v1/access_token" for _, path in api.requests)
    entries = {e.guid: e for e in result.feed.entries}
    assert {"t3_l1", "t3_s1"} <= set(entries)
    assert entries["t3_l1"].kind == "link"
    assert entries["t3_l1"].canonical_url == "https://lab.example.com/blog/new-model"
    assert (
        entries["t3_s1"].kind == "self" and "Asking for a friend" in entries["t3_s1"].content_html
    )
    assert entries["t3_l1"].engagement["via"] == "rss"


@pytest.mark.parametrize("status", [401, 403])
def test_collect_subreddit_falls_back_when_api_refuses(
    reddit_settings: Callable[..., Settings], api: RedditAPIServer, status: int
) -> None:
    api.fail("token", status)
    result = collect(reddit_settings())
    assert result.fallback == "rss" and f"API answered {status}" in result.feed.warning
    assert {"t3_l1", "t3_s1"} <= {e.guid for e in result.feed.entries}


@pytest.mark.parametrize(
    ("status", "reason", "message"),
    [
        (403, "private", "is private (403)"),
        (403, "quarantined", "is quarantined (403)"),
        (404, None, "is banned or missing (404)"),
    ],
)
def test_collect_subreddit_closed_subreddit_is_an_error(
    reddit_settings: Callable[..., Settings],
    api: RedditAPIServer,
    status: int,
    reason: str | None,
    message: str,
) -> None:
    api.fail("r/closed", status, reason=reason)
    with pytest.raises(RedditError) as caught:
        collect(reddit_settings(subreddit="closed"))
    assert str(caught.value) == f"collect: r/closed {message}"


def test_collect_subreddit_429_carries_retry_after(
    reddit_settings: Callable[..., Settings], api: RedditAPIServer
) -> None:
    api.fail("r/machinelearning", 429, retry_after=90)
    with pytest.raises(RedditError) as caught:
        collect(reddit_settings())
    assert caught.value.retry_after == 90.0 and "429" in str(caught.value)


def test_collect_subreddit_rss_failure_is_an_error(
    reddit_settings: Callable[..., Settings], api: RedditAPIServer
) -> None:
    api.fail("rss:r/machinelearning", 403)
    with pytest.raises(RedditError) as caught:
        collect(reddit_settings(credentials=False))
    assert "RSS fallback failed" in str(caught.value) and "HTTP 403" in str(caught.value)


def test_run_collect_reddit_source_end_to_end(
    reddit_settings: Callable[..., Settings], api: RedditAPIServer
) -> None:
    ctx = open_context(reddit_settings())
    report = run_collect(ctx)
    assert report.succeeded == 1 and report.details["new_items"] == 2
    api.fail("token", 401)  # a new run gets a new client: this one falls back to RSS
    second = run_collect(ctx, force=True)
    # Same identity via API and RSS: the two posts are not stored again. RSS carries no
    # score, sticky or NSFW flag, so the three posts the API filters out do come in.
    assert second.details["fallbacks"] == 1 and second.details["new_items"] == 3
    with ctx.session() as session:
        source = session.scalars(select(Source)).one()
        stored = session.scalars(select(Item)).all()
    assert source.fallback == "rss" and "API answered 401" in source.last_warning
    assert source.url == "https://www.reddit.com/r/MachineLearning/top"
    assert sorted(i.guid for i in stored) == ["t3_l1", "t3_low", "t3_nsfw", "t3_s1", "t3_st"]
    ctx.engine.dispose()


def test_run_collect_reddit_429_backs_off_as_told(
    reddit_settings: Callable[..., Settings], api: RedditAPIServer
) -> None:
    api.fail("r/machinelearning", 429, retry_after=20000)
    ctx = open_context(reddit_settings())
    before = utcnow()
    assert run_collect(ctx).failed == 1
    with ctx.session() as session:
        source = session.scalars(select(Source)).one()
    assert source.next_fetch_at >= before + timedelta(seconds=20000)
    assert source.consecutive_errors == 1 and "429" in source.last_error
    ctx.engine.dispose()
