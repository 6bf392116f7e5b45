"""Recorded Reddit API answers (praw's cassettes, ../shared/corpora/reddit): post text vs comments.

Skipped when the corpus is not on this machine: the suite never needs it. Set
AGGREGATOR_CORPORA to the corpora folder to run it elsewhere.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from aggregator.collect.fetch import Fetcher
from aggregator.collect.reddit import collect_subreddit, make_reddit
from aggregator.demo.reddit_api import RedditAPIServer
from aggregator.extract.article import ItemText, choose_text
from aggregator.settings import Settings
from aggregator.summarize.summarizer import ExtractiveSummarizer, StoryInput

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[3]
CANDIDATES = [os.environ.get("AGGREGATOR_CORPORA", ""), REPO.parent / "shared" / "corpora",
              REPO.parents[1] / "shared" / "corpora"]  # fmt: skip
CORPUS = next((Path(c) / "reddit" for c in CANDIDATES if c and (Path(c) / "reddit").is_dir()), None)
if CORPUS is None:
    pytest.skip(
        "the Reddit cassettes (shared corpora) are not on this machine", allow_module_level=True
    )


def _bodies(name: str) -> list[Any]:
    """Return the JSON bodies of a cassette's GET answers."""
    cassette = json.loads((CORPUS / "asyncpraw" / name).read_text(encoding="utf-8"))
    return [json.loads(i["response"]["body"]["string"]) for i in cassette["interactions"]
            if i["request"]["method"] == "GET"]  # fmt: skip


def _posts_and_comments() -> tuple[list[dict], dict[str, list[dict]]]:
    """Return r/askreddit's recorded top posts plus one link post with its recorded comments."""
    listing = _bodies("TestSubredditListings.test_top.json")[0]
    posts = [c["data"] for c in listing["data"]["children"]]
    thread = _bodies("TestCommentForest.test_replace__all.json")[0]
    link = dict(thread[0]["data"]["children"][0]["data"], subreddit="AskReddit")
    comments = [c["data"] for c in thread[1]["data"]["children"] if c["kind"] == "t1"]
    # Every recorded self post gets the thread's comments too, so mixing would show.
    table = {p["id"]: comments for p in posts if p.get("is_self")} | {link["id"]: comments}
    return [link, *posts], table


def _collect(make_settings: Callable[..., Settings], api: RedditAPIServer) -> list[Any]:
    reddit = {"oauth_url": api.url, "reddit_url": api.url, "rss_url": api.url,
              "client_id": "local-id", "client_secret": "local-secret",
              "user_agent": "aggregator tests by the aggregator developers"}  # fmt: skip
    source = {"kind": "reddit", "name": "r/AskReddit", "subreddit": "AskReddit",
              "listing": "top", "top_comments": 3, "limit": 100}  # fmt: skip
    settings = make_settings(reddit=reddit, sources=[source])
    fetcher = Fetcher(settings.fetch, settings.site.base_url)
    try:
        client = make_reddit(settings.reddit, fetcher.user_agent, 5)
        result = collect_subreddit(settings.sources[0], settings.reddit, fetcher, reddit=client)
    finally:
        fetcher.close()
    return result.feed.entries


def test_recorded_posts_keep_post_text_and_comments_apart(
    make_settings: Callable[..., Settings],
) -> None:
    posts, comments = _posts_and_comments()
    with RedditAPIServer({"AskReddit": posts}, comments=comments) as api:
        entries = _collect(make_settings, api)
    assert len(entries) >= 50
    with_comments = [e for e in entries if e.engagement.get("top_comments")]
    assert with_comments and any(e.kind == "link" for e in with_comments)
    for entry in entries:
        item = ItemText(title=entry.title, content_html=entry.content_html, summary=entry.summary,
                        kind=entry.kind, engagement=entry.engagement)  # fmt: skip
        chosen = choose_text(None, item)
        for comment in entry.engagement.get("top_comments") or []:
            assert comment["text"].strip()[:40] not in chosen.text  # never mixed in
            assert comment["url"].startswith(entry.engagement["permalink"])
        if entry.kind == "self":
            assert chosen.method == "reddit-selftext"
        else:
            assert chosen.text == ""  # a link post's text is its linked page, fetched later


def test_recorded_self_post_card_and_discussion(make_settings: Callable[..., Settings]) -> None:
    posts, comments = _posts_and_comments()
    with RedditAPIServer({"AskReddit": posts}, comments=comments) as api:
        entries = _collect(make_settings, api)
    own = [e for e in entries if e.kind == "self" and e.summary and e.engagement["top_comments"]]
    assert own
    for entry in own:
        story = StoryInput(1, entry.title, entry.summary, method="reddit-selftext",
                           comments=entry.engagement["top_comments"])  # fmt: skip
        card = asyncio.run(ExtractiveSummarizer(Settings()).summarize(story)).card
        quoted = [c for p in card.key_takeaways + card.future_implications for c in p.citations]
        quoted += [card.hook, *card.tldr.model_dump().values()]
        for comment in entry.engagement["top_comments"]:
            assert not any(comment["text"].strip()[:40] in q for q in quoted)
        if card.discussion:
            urls = {c["url"] for c in entry.engagement["top_comments"]}
            assert {p.comment_url for p in card.discussion.points} <= urls
