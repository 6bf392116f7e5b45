"""Comment counts from feeds (slash:comments, thr:total) land where Reddit items keep theirs."""

from __future__ import annotations

import pytest

from aggregator.collect.rss import parse_feed
from aggregator.publish.views import discussion

SLASH = "http://purl.org/rss/1.0/modules/slash/"
THREAD = "http://purl.org/syndication/thread/1.0"


def rss(extra: str) -> bytes:
    return (
        f'<?xml version="1.0"?><rss version="2.0" xmlns:slash="{SLASH}" xmlns:thr="{THREAD}">'
        "<channel><title>Desk</title><link>https://desk.example.net/</link>"
        "<item><title>Cheaper tokens this quarter</title>"
        "<link>https://desk.example.net/tokens</link><guid>desk-1</guid>"
        f"<pubDate>Tue, 03 Nov 2026 08:00:00 GMT</pubDate>{extra}</item></channel></rss>"
    ).encode()


def atom(extra: str) -> bytes:
    return (
        f'<feed xmlns="http://www.w3.org/2005/Atom" xmlns:thr="{THREAD}"><title>Desk</title>'
        "<id>urn:desk</id><updated>2026-11-03T08:00:00Z</updated><entry><id>urn:desk:1</id>"
        '<title>Cheaper tokens this quarter</title><link href="https://desk.example.net/t"/>'
        f"<updated>2026-11-03T08:00:00Z</updated>{extra}</entry></feed>"
    ).encode()


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (rss("<slash:comments>41</slash:comments>"), {"comments": 41}),
        (rss("<thr:total>7</thr:total>"), {"comments": 7}),
        (rss("<slash:comments>3</slash:comments><thr:total>9</thr:total>"), {"comments": 3}),
        (rss("<slash:comments>many</slash:comments>"), {}),
        (rss(""), {}),
        (atom("<thr:total>12</thr:total>"), {"comments": 12}),
    ],
)
def test_comment_counts_are_read_into_engagement(body: bytes, expected: dict) -> None:
    [entry] = parse_feed(body, "https://desk.example.net/feed").entries
    assert entry.engagement == expected


def test_comment_count_reaches_the_discussion_the_site_shows() -> None:
    [entry] = parse_feed(rss("<thr:total>5</thr:total>"), "https://desk.example.net/f").entries

    class Row:
        engagement = entry.engagement
        kind, source_kind, source, url = "feed", "rss", "Desk", entry.url

    shown = discussion(Row())  # type: ignore[arg-type]
    assert shown is not None and shown["comments"] == 5 and shown["score"] is None
