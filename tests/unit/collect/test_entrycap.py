"""The per-feed entry cap: the newest entries survive, whatever order the feed lists them in."""

from __future__ import annotations

import json

from aggregator.collect.compact import compact
from aggregator.collect.entrycap import cap_rows, trim_feed
from aggregator.collect.rss import parse_feed


def rss(numbers: list[int]) -> bytes:
    items = "".join(
        f"<item><guid>g{n}</guid><title>T{n}</title>"
        f"<pubDate>{n + 1:02d} Nov 2026 10:00:00 GMT</pubDate></item>"
        for n in numbers
    )
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>c</title>{items}</channel></rss>'.encode()


def guids(body: bytes) -> list[str]:
    return [e.guid for e in parse_feed(body, "https://a.test/f").entries]


def test_entrycap_keeps_the_newest_of_an_oldest_first_feed() -> None:
    body, dropped = trim_feed(rss(list(range(20))), 5)
    assert dropped == 15
    assert guids(body) == ["g15", "g16", "g17", "g18", "g19"]


def test_entrycap_leaves_a_feed_within_the_cap_untouched() -> None:
    body = rss(list(range(5)))
    assert trim_feed(body, 5) == (body, 0)


def test_entrycap_atom_entries() -> None:
    entries = "".join(
        f"<entry><id>e{n}</id><title>T</title><updated>2026-11-{n + 1:02d}T00:00:00Z</updated></entry>"
        for n in range(10)
    )
    body = f'<feed xmlns="http://www.w3.org/2005/Atom"><title>a</title>{entries}</feed>'.encode()
    trimmed, dropped = trim_feed(body, 3)
    assert dropped == 7 and guids(trimmed) == ["e7", "e8", "e9"]


def test_entrycap_json_feed_is_capped_after_parsing_with_a_warning() -> None:
    items = [
        {"id": f"j{n}", "title": f"T{n}", "date_published": f"2026-11-{n + 1:02d}T00:00:00Z"}
        for n in range(10)
    ]
    body = json.dumps({"version": "https://jsonfeed.org/version/1.1", "title": "j", "items": items})
    assert trim_feed(body.encode(), 4) == (body.encode(), 0)
    feed = cap_rows(compact(parse_feed(body.encode(), "https://a.test/j.json")), 4, 0, "Jay")
    assert [row[1] for row in feed.rows] == ["j6", "j7", "j8", "j9"]
    assert feed.warning == "collect: Jay: 10 entries, kept the newest 4 ([fetch] max_entries)"
