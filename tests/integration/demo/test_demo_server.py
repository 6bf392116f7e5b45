"""The demo server on 127.0.0.1: feeds, pages, the broken feed, the dead link, Reddit data."""

from __future__ import annotations

import html
import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import feedparser
import praw
import pytest

from aggregator.config import load_settings
from aggregator.demo.config import demo_settings_toml
from aggregator.demo.server import DemoServer, start_demo_server

pytestmark = pytest.mark.integration

EXPECTED_ENTRIES = {
    "/tensorwire/feed.xml": 8,
    "/gradient-ledger/atom.xml": 5,
    "/policy-circuit/rss.xml": 5,
    "/angstrom/feed.atom": 4,
    "/halcyon/newsroom.atom": 3,
}
DEAD_LINK = "/tensorwire/news/tessellate-series-b-retrieval"


@pytest.fixture(scope="module")
def server() -> Iterator[DemoServer]:
    """Return a running demo server for the module's tests."""
    with start_demo_server() as running:
        yield running


def fetch(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    """Return status, headers and body of a GET, including error statuses."""
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def parse(server: DemoServer, path: str) -> feedparser.FeedParserDict:
    """Return a served feed parsed by feedparser with its HTTP headers."""
    status, headers, body = fetch(server.url(path))
    assert status == 200, path
    return feedparser.parse(body, response_headers={"content-type": headers["Content-Type"]})


@pytest.mark.parametrize("path", sorted(EXPECTED_ENTRIES))
def test_demo_server_serves_feeds_with_recent_dates(server: DemoServer, path: str) -> None:
    feed = parse(server, path)
    assert not feed.bozo, feed.get("bozo_exception")
    assert len(feed.entries) == EXPECTED_ENTRIES[path]
    now = datetime.now(UTC)
    for entry in feed.entries:
        published = datetime(*entry.published_parsed[:6], tzinfo=UTC)
        assert now - timedelta(days=15) <= published <= now
        assert entry.link.startswith(server.base_url)


def test_demo_server_keeps_non_ascii_text(server: DemoServer) -> None:
    angstrom = parse(server, "/angstrom/feed.atom")
    assert angstrom.feed.title == "Ångström Notes — small models, big questions 🔬"
    assert any("déjà vu 🔁" in e.title for e in angstrom.entries)
    _, headers, body = fetch(server.url("/policy-circuit/rss.xml"))
    assert headers["Content-Type"] == "application/rss+xml; charset=windows-1252"
    assert "\u201ccompute receipts\u201d".encode("cp1252") in body  # single-byte curly quotes
    titles = [e.title for e in parse(server, "/policy-circuit/rss.xml").entries]
    assert (
        "Draft rules would require \u201ccompute receipts\u201d for large training runs" in titles
    )
    summaries = " ".join(e.summary for e in parse(server, "/policy-circuit/rss.xml").entries)
    assert "€20 million" in summaries


def test_demo_server_answers_if_none_match_with_304(server: DemoServer) -> None:
    status, headers, body = fetch(server.url("/tensorwire/feed.xml"))
    assert status == 200 and headers["ETag"]
    status, _, body = fetch(server.url("/tensorwire/feed.xml"), {"If-None-Match": headers["ETag"]})
    assert (status, body) == (304, b"")
    status, _, _ = fetch(server.url("/tensorwire/feed.xml"), {"If-None-Match": '"stale"'})
    assert status == 200


def test_demo_server_serves_every_linked_article(server: DemoServer) -> None:
    for path in EXPECTED_ENTRIES:
        for entry in parse(server, path).entries:
            status, headers, body = fetch(entry.link)
            if entry.link.endswith(DEAD_LINK):
                assert status == 404
                continue
            assert status == 200, entry.link
            charset = headers["Content-Type"].split("charset=")[1]
            page = html.unescape(body.decode(charset))
            assert entry.title in page
            assert f'<link rel="canonical" href="{entry.link}">' in page


def test_demo_server_dead_link_is_404(server: DemoServer) -> None:
    status, headers, _ = fetch(server.url(DEAD_LINK))
    assert status == 404 and headers["Content-Type"].startswith("text/html")


def test_demo_server_broken_feed_is_malformed_but_half_parses(server: DemoServer) -> None:
    feed = parse(server, "/ferrite/feed.xml")
    assert feed.bozo
    assert len(feed.entries) >= 2
    assert feed.entries[0].title.startswith("Ferrite Weekly #112")


def test_demo_server_serves_reddit_listing_json(server: DemoServer) -> None:
    status, _, body = fetch(server.url("/r/MachineLearning/top.json?t=month&limit=100"))
    assert status == 200
    posts = [child["data"] for child in json.loads(body)["data"]["children"]]
    assert len(posts) == 9
    assert [p["score"] for p in posts] == sorted((p["score"] for p in posts), reverse=True)
    required = {
        "id",
        "title",
        "url",
        "selftext",
        "score",
        "num_comments",
        "permalink",
        "created_utc",
        "author",
        "stickied",
        "over_18",
    }
    assert all(required <= set(p) for p in posts)
    week = datetime.now(UTC).timestamp() - 7 * 86400
    status, _, body = fetch(server.url("/r/MachineLearning/top.json?t=week"))
    recent = json.loads(body)["data"]["children"]
    assert 0 < len(recent) < 9 and all(c["data"]["created_utc"] >= week for c in recent)


def test_demo_server_serves_reddit_rss_and_threads(server: DemoServer) -> None:
    feed = parse(server, "/r/MachineLearning/new.rss")
    assert len(feed.entries) == 9 and not feed.bozo
    linked = [e for e in feed.entries if "/dataline/stories/" in e.content[0].value]
    assert len(linked) == 2
    post = json.loads(fetch(server.url("/r/MachineLearning/hot.json"))[2])["data"]["children"][1]
    status, _, body = fetch(server.url(post["data"]["permalink"].rstrip("/") + ".json"))
    thread = json.loads(body)
    assert status == 200 and thread[1]["data"]["children"][0]["kind"] == "t1"
    assert fetch(server.url("/r/NoSuchSub/hot.json"))[0] == 404


def test_demo_server_robots_allows_all(server: DemoServer) -> None:
    status, _, body = fetch(server.url("/robots.txt"))
    assert status == 200 and b"Allow: /" in body


def test_demo_server_config_validates_against_live_server(
    server: DemoServer, tmp_path: Path
) -> None:
    config = tmp_path / "aggregator.toml"
    config.write_text(
        demo_settings_toml(server.base_url, tmp_path / "site", f"sqlite:///{tmp_path / 'd.db'}"),
        encoding="utf-8",
    )
    settings = load_settings(config, env={})
    for source in settings.sources:
        if source.kind == "rss":
            assert fetch(source.url)[0] == 200


def test_demo_server_stops_and_frees_its_port() -> None:
    server = start_demo_server()
    url = server.url("/robots.txt")
    assert fetch(url)[0] == 200
    server.stop()
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(url, timeout=2)


def test_demo_server_serves_reddit_api_to_praw(server: DemoServer, tmp_path: Path) -> None:
    text = demo_settings_toml(
        server.base_url, tmp_path, "sqlite:///d.db", reddit_url=server.reddit_url
    )
    (tmp_path / "aggregator.toml").write_text(text, encoding="utf-8")
    settings = load_settings(tmp_path / "aggregator.toml", env={})
    assert settings.reddit.oauth_url == server.reddit_url
    reddit = praw.Reddit(
        client_id="demo",
        client_secret="demo",
        user_agent="aggregator demo test",
        oauth_url=settings.reddit.oauth_url,
        reddit_url=settings.reddit.reddit_url,
        check_for_updates=False,
    )
    posts = list(reddit.subreddit("MachineLearning").top(time_filter="month", limit=25))
    assert len(posts) == 9 and posts[0].score == max(p.score for p in posts)
    assert posts[0].url.startswith(server.base_url + "/dataline/")
    posts[0].comments.replace_more(limit=0)
    assert "Dataline piece" in posts[0].comments[0].body
