"""robots.txt: RFC 9309 matching, group choice, and the per-host cache's error handling."""

from __future__ import annotations

import threading
import time

import pytest

from aggregator.extract.robots import RobotsCache, RobotsUnavailable, parse_robots, robots_token

ROBOTS = """
# comments are ignored
User-agent: *
Disallow: /private/
Allow: /private/press/
Disallow: /*.pdf$
Disallow: /search

User-agent: aggregator
User-agent: otherbot
Disallow: /drafts/
Allow: /drafts/public$
"""


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        ("/news/a", True),
        ("/private/x", False),
        ("/private/press/release", True),
        ("/papers/a.pdf", False),
        ("/papers/a.pdf?x=1", True),
        ("/search?q=ai", False),
        ("/robots.txt", True),
    ],
)
def test_robots_star_group_longest_match(path: str, allowed: bool) -> None:
    rules = parse_robots(ROBOTS, "somebot")
    assert rules.allowed("https://site.example" + path) is allowed


def test_robots_own_group_replaces_star_group() -> None:
    rules = parse_robots(ROBOTS, "aggregator")
    assert rules.allowed("https://site.example/private/x")  # the * group no longer applies
    assert not rules.allowed("https://site.example/drafts/one")
    assert rules.allowed("https://site.example/drafts/public")
    assert not rules.allowed("https://site.example/drafts/public2")


def test_robots_empty_disallow_and_percent_encoding() -> None:
    assert parse_robots("User-agent: *\nDisallow:\n", "x").allowed("https://s.example/a")
    rules = parse_robots("User-agent: *\nDisallow: /caf%C3%A9/\n", "x")
    assert not rules.allowed("https://s.example/café/menu")


def test_robots_token_from_user_agent() -> None:
    assert robots_token("Signal (aggregator/0.1.0; news reader; +https://x/)") == "aggregator"
    assert robots_token("Mozilla/5.0 (compatible; SignalBot/2.1)") == "signalbot"
    assert robots_token(None) == "aggregator"


def fetcher(answers: dict[str, object], calls: list[str]):
    def fetch(url: str) -> str:
        calls.append(url)
        answer = answers[url]
        if isinstance(answer, Exception):
            raise answer
        return str(answer)

    return fetch


def test_robots_cache_fetches_once_per_host() -> None:
    calls: list[str] = []
    answers = {
        "https://a.example/robots.txt": "User-agent: *\nDisallow: /x\n",
        "https://b.example/robots.txt": "User-agent: *\nDisallow:\n",
    }
    cache = RobotsCache(fetcher(answers, calls), "aggregator/1")
    assert not cache.allowed("https://a.example/x/1")
    assert cache.allowed("https://a.example/y")
    assert cache.allowed("https://b.example/x/1")
    assert calls == ["https://a.example/robots.txt", "https://b.example/robots.txt"]


@pytest.mark.parametrize(
    ("error", "allowed"),
    [
        (RobotsUnavailable(404), True),
        (RobotsUnavailable(403), True),
        (RobotsUnavailable(503), False),
        (RobotsUnavailable(429), False),
        (RobotsUnavailable(None, "network down"), False),
    ],
)
def test_robots_cache_unavailable_vs_unreachable(error: RobotsUnavailable, allowed: bool) -> None:
    cache = RobotsCache(fetcher({"https://a.example/robots.txt": error}, []), None)
    assert cache.allowed("https://a.example/page") is allowed


def test_robots_cache_expires_unreachable_sooner() -> None:
    now = [0.0]
    calls: list[str] = []
    answers: dict[str, object] = {"https://a.example/robots.txt": RobotsUnavailable(500)}
    cache = RobotsCache(fetcher(answers, calls), None, clock=lambda: now[0])
    assert not cache.allowed("https://a.example/p")
    answers["https://a.example/robots.txt"] = "User-agent: *\nDisallow:\n"
    now[0] = 1800
    assert not cache.allowed("https://a.example/p")  # still cached
    now[0] = 3601
    assert cache.allowed("https://a.example/p")
    assert len(calls) == 2


def test_robots_cache_one_request_under_concurrency() -> None:
    calls: list[str] = []

    def slow(url: str) -> str:
        calls.append(url)
        time.sleep(0.05)
        return "User-agent: *\nDisallow: /no\n"

    cache = RobotsCache(slow, None)
    results: list[bool] = []
    threads = [
        threading.Thread(target=lambda: results.append(cache.allowed("https://a.example/no")))
        for _ in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [False] * 8 and len(calls) == 1
