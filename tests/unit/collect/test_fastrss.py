"""The lxml fast path gives exactly feedparser's entries, and steps aside when it cannot."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from aggregator.collect import rss
from aggregator.collect.fastrss import read_plain_rss

FIXTURES = Path(__file__).parent / "fixtures"
URL = "https://desk.example.net/feed.xml"
HEAD = (
    '<?xml version="1.0" encoding="utf-8"?><rss version="2.0" '
    'xmlns:dc="http://purl.org/dc/elements/1.1/" '
    'xmlns:content="http://purl.org/rss/1.0/modules/content/" '
    'xmlns:slash="http://purl.org/rss/1.0/modules/slash/" '
    'xmlns:atom="http://www.w3.org/2005/Atom"><channel>'
    "<title>Desk &amp; Bench</title><link>https://desk.example.net/</link><ttl>45</ttl>"
    '<atom:link rel="self" href="https://desk.example.net/feed.xml"/>'
)


def feed(*items: str, head: str = HEAD) -> bytes:
    return (head + "".join(f"<item>{i}</item>" for i in items) + "</channel></rss>").encode()


def same_as_feedparser(body: bytes) -> rss.ParsedFeed:
    ours = rss.parse_feed(body, URL, {"content-type": "application/rss+xml"})
    theirs = rss._parse(body, URL, {"content-type": "application/rss+xml"}, fast=False)
    left, right = dataclasses.asdict(ours), dataclasses.asdict(theirs)
    for entry in left["entries"] + right["entries"]:
        entry["published_at"] = None if entry["date_flagged"] else entry["published_at"]
    assert left == right
    return ours


PLAIN = [
    feed(
        "<title>Cheaper tokens</title><link>https://desk.example.net/a?x=1&amp;y=2</link>"
        '<guid isPermaLink="false">desk-a</guid><pubDate>Tue, 03 Nov 2026 08:00:00 +0100</pubDate>'
        "<author>editor@desk.example.net (Mara Quill)</author>"
        '<category domain="https://desk.example.net/t">serving</category><category>cost</category>'
        '<enclosure url="https://desk.example.net/a.mp3" length="1200" type="Audio/MPEG"/>'
        "<description><![CDATA[<p>Batch <b>sizes</b> went up.</p>]]></description>"
        "<slash:comments>14</slash:comments>"
    ),
    # guid as permalink (no <link>), content before description, dc fields, odd text.
    feed(
        "<guid>https://desk.example.net/b</guid><title>A &lt;b&gt;bold&lt;/b&gt; claim</title>"
        "<content:encoded><![CDATA[<p>Full text</p>]]></content:encoded>"
        "<description>Short</description><dc:creator>Ilse Varga</dc:creator>"
        "<dc:date>2026-11-02T07:30:00Z</dc:date>"
    ),
    # link after a permalink guid wins; content alone becomes the summary; mojibake and C1.
    feed(
        "<guid>https://desk.example.net/c-guid</guid><link>https://desk.example.net/c</link>"
        "<title>Caf\u00c3\u00a9 \u0093quoted\u0094</title><content:encoded>Only content</content:encoded>"
        "<pubDate>not a date</pubDate><comments>https://desk.example.net/c#c</comments>",
        "<title></title><description>An item with nothing but text</description>",
        '<enclosure url="https://desk.example.net/only.ogg" type="audio/ogg"/>',
    ),
]


@pytest.mark.parametrize("body", PLAIN)
def test_plain_rss_takes_the_fast_path_with_feedparsers_result(body: bytes) -> None:
    assert read_plain_rss(body, "application/rss+xml") is not None
    parsed = same_as_feedparser(body)
    assert parsed.entries and parsed.title == "Desk & Bench" and parsed.ttl_seconds == 45 * 60


NOT_PLAIN = [
    feed(
        '<title>x</title><media:title xmlns:media="http://search.yahoo.com/mrss/">y</media:title>'
    ),
    feed("<title>one</title><title>two</title>"),
    feed('<title type="html">x</title>'),
    feed("<title>x</title><description><p>inline markup</p></description>"),
    feed('<title>x</title><link>https://desk.example.net/x</link><atom:link href="https://o/"/>'),
    feed("<title>x</title>", head=HEAD.replace('encoding="utf-8"', 'encoding="iso-8859-1"')),
    b'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>a</title></feed>',
    feed("<title>unclosed</title"),
    feed(),
]


@pytest.mark.parametrize("body", NOT_PLAIN)
def test_anything_else_is_left_to_feedparser(body: bytes) -> None:
    assert read_plain_rss(body, "application/rss+xml") is None
    same_as_feedparser(body)


@pytest.mark.parametrize("name", sorted(p.name for p in FIXTURES.iterdir()))
def test_fixtures_parse_the_same_either_way(name: str) -> None:
    same_as_feedparser((FIXTURES / name).read_bytes())


def test_relative_links_in_html_go_to_feedparser(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[Any] = []
    monkeypatch.setattr(rss, "read_plain_rss", lambda *a: calls.append(a))
    body = feed('<title>x</title><description>&lt;a href="/rel"&gt;r&lt;/a&gt;</description>')
    entry = rss.parse_feed(body, URL).entries[0]
    assert calls == [] and 'href="https://desk.example.net/rel"' in (entry.summary or "")
