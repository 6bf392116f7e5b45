"""The bundled examples: enough items, topics and weeks, well-formed pages, a valid config."""

from __future__ import annotations

import re
import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import feedparser
import pytest

from aggregator.config import load_settings
from aggregator.demo.config import (
    demo_settings_toml,
    examples_dir,
    fill_placeholders,
    format_time,
    relative_time,
)
from aggregator.demo.server import DemoContent

BASE = "http://127.0.0.1:9"
NOW = datetime(2026, 3, 4, 10, 30, tzinfo=UTC)
DEAD_LINK = "/tensorwire/news/tessellate-series-b-retrieval"
BROKEN_FEED = "/ferrite/feed.xml"


@pytest.fixture(scope="module")
def content() -> DemoContent:
    """Return the demo content rendered for a server at BASE (no server started)."""
    return DemoContent(examples_dir(), BASE)


def _entries(content: DemoContent) -> dict[str, list]:
    parsed = {}
    for path, file in content.feeds.items():
        response = content.feed(file)
        parsed[path] = feedparser.parse(
            response.body, response_headers={"content-type": response.content_type}
        ).entries
    return parsed


def test_relative_time_names_a_day_and_time_before_now() -> None:
    assert relative_time("-3d 09:15", NOW) == datetime(2026, 3, 1, 9, 15, tzinfo=UTC)
    assert relative_time("-5h", NOW) == datetime(2026, 3, 4, 5, 30, tzinfo=UTC)
    with pytest.raises(ValueError, match="demo: not a relative date"):
        relative_time("+3d", NOW)


def test_fill_placeholders_formats_dates_per_style() -> None:
    text = "{{base}}/x {{date:-1d 08:00}} {{date:-1d 08:00|rfc3339}} {{date:-1d 08:00|epoch}}"
    filled = fill_placeholders(text, BASE + "/", "rfc822", NOW)
    assert filled == (
        "http://127.0.0.1:9/x Tue, 03 Mar 2026 08:00:00 GMT 2026-03-03T08:00:00Z 1772524800"
    )
    assert format_time(NOW, "human") == "4 March 2026, 10:30 UTC"


def test_examples_have_enough_items_topics_and_weeks(content: DemoContent) -> None:
    now = datetime.now(UTC)
    times = [
        datetime(*e.published_parsed[:6], tzinfo=UTC)
        for entries in _entries(content).values()
        for e in entries
    ]
    posts = [p for posts in content.reddit.values() for p in posts if not p["stickied"]]
    times += [datetime.fromtimestamp(p["created_utc"], UTC) for p in posts]
    assert len(times) >= 30
    assert all(now - timedelta(days=15) <= t <= now for t in times)
    assert len({t.isocalendar()[:2] for t in times}) >= 2
    topics = {slug for a in content.articles.values() for slug in a.meta["topics"]}
    configured = tomllib.loads((examples_dir() / "aggregator.toml").read_text("utf-8"))["topics"]
    assert len(topics) >= 3
    assert topics <= {t["slug"] for t in configured}


def test_articles_are_long_enough_to_quote(content: DemoContent) -> None:
    for path, article in content.articles.items():
        words = len(re.sub(r"<[^>]+>", " ", article.body).split())
        assert 250 <= words <= 700, f"{path}: {words} words"
        assert article.meta.get("author") and article.meta.get("summary"), path


def test_feed_links_resolve_to_articles_except_the_dead_link(content: DemoContent) -> None:
    links = {e.link.removeprefix(BASE) for es in _entries(content).values() for e in es}
    missing = {link for link in links if link not in content.articles}
    # The broken feed's truncated last item has no page either: it never finished uploading.
    assert missing - {"/ferrite/issues/issue-110-substations"} == {DEAD_LINK}


def test_reddit_link_posts_point_at_served_articles(content: DemoContent) -> None:
    posts = content.reddit["MachineLearning"]
    links = [p["url"].removeprefix(BASE) for p in posts if not p["is_self"]]
    assert links and all(link in content.articles for link in links)
    assert all(p["comments"] for p in posts)
    assert sum(p["stickied"] for p in posts) == 1


def test_example_files_are_utf8(content: DemoContent) -> None:
    root = examples_dir()
    for file in [*root.rglob("*.html"), *root.rglob("*.xml"), *root.rglob("*.atom")]:
        file.read_text(encoding="utf-8")  # raises on a stray byte
    assert "windows-1252" in content.feed(content.feeds["/policy-circuit/rss.xml"]).content_type


def test_demo_settings_toml_validates(tmp_path: Path) -> None:
    text = demo_settings_toml(BASE, tmp_path / "site dir", f"sqlite:///{tmp_path / 'demo.db'}")
    config = tmp_path / "aggregator.toml"
    config.write_text(text, encoding="utf-8")
    settings = load_settings(config, env={})
    assert settings.fetch.allow_private_networks is True
    assert len(settings.topics) >= 3
    assert {s.kind for s in settings.sources} == {"rss", "reddit"}
    assert all(s.url.startswith(BASE) for s in settings.sources if s.kind == "rss")
    assert settings.reddit.rss_url == BASE
    assert settings.site.output_dir == tmp_path / "site dir"
    assert settings.database.url.endswith("demo.db")
