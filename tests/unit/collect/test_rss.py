"""parse_feed on fixture files: formats, identity, dates, encodings, malformed input."""

from __future__ import annotations

import gzip
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from aggregator.collect.rss import (
    Entry,
    ParsedFeed,
    checked_date,
    entry_fingerprint,
    identity_hash,
    parse_feed,
)

FIXTURES = Path(__file__).parent / "fixtures"
URL = "https://feeds.example.org/feed.xml"


def parse(name: str, headers: dict[str, str] | None = None, url: str = URL) -> ParsedFeed:
    return parse_feed((FIXTURES / name).read_bytes(), url, headers)


def by_title(feed: ParsedFeed) -> dict[str, Entry]:
    return {e.title: e for e in feed.entries}


def test_parse_feed_reads_rss2_fields() -> None:
    feed = parse("rss2_basic.xml")
    assert (feed.title, feed.link, feed.ttl_seconds, feed.warning) == (
        "Inference Notes",
        "https://notes.example.org/",
        90 * 60,
        None,
    )
    entry = by_title(feed)["Batching halves our GPU bill"]
    assert entry.guid == "notes-2026-001"
    assert (
        entry.url
        == "https://feeds.example.org/posts/batching?utm_source=rss&utm_medium=feed&page=2#comments"
    )
    assert entry.canonical_url == "https://feeds.example.org/posts/batching?page=2"
    assert entry.published_at == datetime(2026, 11, 3, 8, 30, tzinfo=UTC)
    assert entry.author == "Dana Ruiz"
    assert entry.tags == ["serving", "cost"]
    assert entry.enclosures == [
        {"url": "https://cdn.example.org/batching.mp3", "type": "audio/mpeg", "length": 123456}
    ]
    assert entry.engagement == {"comments": 12}
    assert entry.summary == "Continuous batching, measured."
    # Raw HTML is kept (sanitizing happens at render); relative links are resolved.
    assert "<b>continuous batching</b>" in entry.content_html
    assert 'href="https://feeds.example.org/posts/method"' in entry.content_html
    assert entry.kind == "feed" and not entry.date_flagged


def test_parse_feed_reads_atom_with_xml_base() -> None:
    feed = parse("atom_basic.xml")
    [entry] = feed.entries
    assert entry.title == "Sparse attention in practice"  # HTML title made plain
    assert entry.url == "https://lab.example.com/blog/sparse-attention"
    assert entry.published_at == datetime(2026, 11, 4, 13, 15, tzinfo=UTC)
    assert 'href="https://lab.example.com/blog/figures/1.png"' in entry.content_html
    assert entry.summary.startswith("What we learned")


def test_parse_feed_reads_rdf() -> None:
    [entry] = parse("rdf_basic.xml").entries
    assert (entry.title, entry.author) == ("Distilling reasoning into small models", "K. Osei")
    assert entry.published_at == datetime(2026, 10, 30, 7, tzinfo=UTC)


def test_parse_feed_reads_json_feed() -> None:
    feed = parse("json_feed_basic.json", {"Content-Type": "application/feed+json"})
    assert feed.title == "Release Radar" and len(feed.entries) == 2
    assert "malformed" in feed.warning  # the string in "items" is reported, not fatal
    first, second = feed.entries
    assert first.canonical_url == "https://radar.example.io/releases/77"
    assert first.published_at == datetime(2026, 11, 1, 8, tzinfo=UTC)
    assert first.author == "Radar Team" and first.tags == ["release", "scheduler"]
    assert first.enclosures[0]["length"] == 2048
    assert second.guid == "78" and second.author == "Sam Lee" and second.date_flagged
    assert second.summary == "Fixes a memory leak."


def test_parse_feed_identity_prefers_guid_then_link() -> None:
    entries = by_title(parse("rss2_basic.xml"))
    with_guid = entries["Batching halves our GPU bill"]
    assert with_guid.guid_hash == identity_hash("notes-2026-001", None, "", None)
    no_guid = entries["An undated note"]
    assert no_guid.guid is None
    assert no_guid.guid_hash == identity_hash(
        None, "https://notes.example.org/posts/undated", "", None
    )


def test_parse_feed_identity_is_stable_when_the_feed_moves() -> None:
    moved = parse("rss2_basic.xml", url="https://mirror.example.net/other/feed")
    original = parse("rss2_basic.xml")
    assert [e.guid_hash for e in moved.entries[1:]] == [e.guid_hash for e in original.entries[1:]]
    assert moved.entries[0].guid_hash == original.entries[0].guid_hash  # guid, not the link


def test_parse_feed_repeated_guids_keep_every_story_once() -> None:
    feed = parse("rss_duplicate_guids.xml")
    titles = [e.title for e in feed.entries]
    assert titles == ["First story", "Second story", "Unique story"]
    assert len({e.guid_hash for e in feed.entries}) == 3


def test_parse_feed_flags_absurd_dates() -> None:
    before = datetime.now(UTC) - timedelta(seconds=2)
    entries = by_title(parse("rss_absurd_dates.xml"))
    for title in ("From the future", "From the epoch", "Garbled date"):
        assert entries[title].date_flagged, title
        assert entries[title].published_at >= before  # collection time instead
    assert not entries["Fine date"].date_flagged
    assert entries["Fine date"].published_at == datetime(2026, 11, 1, 8, tzinfo=UTC)


def test_checked_date_bounds() -> None:
    now = datetime(2026, 11, 5, tzinfo=UTC)
    assert checked_date(now + timedelta(hours=23), now) == (now + timedelta(hours=23), False)
    assert checked_date(now + timedelta(hours=25), now) == (now, True)
    assert checked_date(datetime(1989, 12, 31, tzinfo=UTC), now) == (now, True)
    assert checked_date(None, now) == (now, True)


@pytest.mark.parametrize(
    ("name", "headers"),
    [
        ("rss_windows1251.xml", None),
        ("rss_windows1251.xml", {"Content-Type": "text/xml; charset=utf-8"}),  # header lies
        (
            "rss_cp1251_prolog_says_utf8.xml",
            {"Content-Type": "application/rss+xml; charset=windows-1251"},
        ),
        ("rss_koi8r.xml", {"Content-Type": "application/xml"}),
    ],
)
def test_parse_feed_decodes_cyrillic(name: str, headers: dict[str, str] | None) -> None:
    feed = parse(name, headers)
    assert feed.title == "Новости моделей"
    assert feed.entries[0].title == "Новая модель вышла"
    assert feed.entries[0].summary == "Сравнение скорости и цены."


def test_parse_feed_decodes_utf16_with_bom() -> None:
    feed = parse("atom_utf16.xml", {"Content-Type": "application/atom+xml"})
    assert feed.title == "Ünïcödé Wide"
    assert feed.entries[0].title == "Grüße aus Köln — 東京 🚀"


def test_parse_feed_keeps_utf8_despite_latin1_label() -> None:
    feed = parse("rss_utf8_labelled_latin1.xml", {"Content-Type": "text/xml; charset=iso-8859-1"})
    assert feed.entries[0].title == "Launch 🚀 day — naïve résumé"


def test_parse_feed_guesses_undeclared_latin1() -> None:
    feed = parse("rss_latin1_undeclared.xml", {"Content-Type": "text/xml"})
    assert feed.title == "Café Crème"
    assert feed.entries[0].title == "Déjà vu à Genève"


def test_parse_feed_truncated_feed_yields_items_and_warning() -> None:
    feed = parse("rss_truncated.xml")
    assert feed.bozo and feed.warning.startswith(f"rss: {URL}: ")
    assert "\n" not in feed.warning
    assert [e.title for e in feed.entries] == ["Survives the cut", "Also complete"]


def test_parse_feed_html_page_is_not_a_feed() -> None:
    feed = parse("not_a_feed.html", {"Content-Type": "text/html"})
    assert feed.entries == [] and feed.bozo
    assert "not a feed" in feed.warning


def test_parse_feed_inflates_gzip_bodies() -> None:
    body = gzip.compress((FIXTURES / "rss2_basic.xml").read_bytes())
    assert len(parse_feed(body, URL).entries) == 3


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"   ",
        b"\x00\x01\x02",
        b"<",
        b"{",
        b"[1,2]",
        b'{"items": "x"}',
        b"\x1f\x8b\x08junk",
        b"<rss>" * 5000,
        b"<?xml version='1.0' encoding='no-such-codec'?><rss/>",
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]><rss>&b;</rss>',
        b"\xff\xfe<\x00",
        "<rss><channel><item><title>\u0007bell</title></item></channel></rss>".encode(),
    ],
)
def test_parse_feed_never_raises(body: bytes) -> None:
    feed = parse_feed(body, URL, {"content-type": "text/xml"})
    assert isinstance(feed, ParsedFeed)


def test_parse_feed_never_raises_on_random_bytes() -> None:
    rng = random.Random(7)
    sample = (FIXTURES / "rss2_basic.xml").read_bytes()
    for _ in range(30):
        mutated = bytearray(sample)
        for _ in range(20):
            mutated[rng.randrange(len(mutated))] = rng.randrange(256)
        assert isinstance(parse_feed(bytes(mutated), URL), ParsedFeed)


def test_entry_fingerprint_changes_with_title_only() -> None:
    entry = parse("rss2_basic.xml").entries[0]
    before = entry_fingerprint(entry)
    assert entry_fingerprint(entry) == before
    entry.title = "Batching cut our GPU bill in half"
    assert entry_fingerprint(entry) != before
