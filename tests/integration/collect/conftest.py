"""Fixtures for the collect tests: a real feed server on 127.0.0.1 and fixture feeds."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers.feed_server import FeedServer

FEEDS = Path(__file__).parents[2] / "unit" / "collect" / "fixtures"


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    """Return a started feed server (ThreadingHTTPServer on 127.0.0.1, port 0)."""
    with FeedServer() as server:
        yield server


def rss(title: str, items: list[tuple[str, str, str]]) -> str:
    """Return an RSS 2.0 document; items are (guid, title, description)."""
    body = "".join(
        f"<item><guid>{g}</guid><title>{t}</title><link>https://news.example.org/{g}</link>"
        f"<pubDate>Mon, 02 Nov 2026 {10 + i:02d}:00:00 GMT</pubDate>"
        f"<description>{d}</description></item>"
        for i, (g, t, d) in enumerate(items)
    )
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{title}'
        f"</title><link>https://news.example.org/</link><description>d</description>{body}"
        "</channel></rss>"
    )
