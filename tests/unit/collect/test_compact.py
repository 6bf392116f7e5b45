"""compact.py: a parsed feed as row tuples, made in the parse workers; never raises."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest

from aggregator.collect import compact as compact_module
from aggregator.collect.compact import ROW_FIELDS, CompactFeed, compact, parse_compact
from aggregator.collect.rss import CRASH_MARK, entry_fingerprint, parse_feed

FIXTURES = Path(__file__).parent / "fixtures"
URL = "https://feeds.example.org/feed.xml"


def test_rows_hold_the_entries_fields_ready_to_store() -> None:
    feed = parse_feed((FIXTURES / "rss2_basic.xml").read_bytes(), URL)
    rows = compact(feed).rows
    assert len(rows) == len(feed.entries) > 0
    for entry, row in zip(feed.entries, rows, strict=True):
        values = dict(zip(ROW_FIELDS, row, strict=True))
        assert values["guid_hash"] == entry.guid_hash
        assert (values["title"], values["url"], values["summary"]) == (
            entry.title,
            entry.url,
            entry.summary,
        )
        assert values["published_at"] == entry.published_at
        assert values["published_at"].tzinfo is not None
        assert json.loads(values["tags"]) == entry.tags
        assert json.loads(values["enclosures"]) == entry.enclosures
        assert json.loads(values["engagement"]) == entry.engagement
        assert values["feed_hash"] == entry_fingerprint(entry)


def test_rows_drop_nul_characters_but_the_edit_hash_sees_the_entry_as_parsed() -> None:
    entry = parse_feed((FIXTURES / "rss2_basic.xml").read_bytes(), URL).entries[0]
    entry.title, entry.summary = "a\x00b", "c\x00d"
    values = dict(zip(ROW_FIELDS, compact_module.entry_row(entry), strict=True))
    assert (values["title"], values["summary"]) == ("ab", "cd")
    assert values["feed_hash"] == entry_fingerprint(entry)


def test_dates_leave_out_flagged_entries() -> None:
    feed = parse_feed((FIXTURES / "rss_absurd_dates.xml").read_bytes(), URL)
    assert any(e.date_flagged for e in feed.entries)
    assert compact(feed).dates() == [e.published_at for e in feed.entries if not e.date_flagged]


def test_parse_compact_keeps_the_feed_warning_and_ttl() -> None:
    body = (FIXTURES / "rss_truncated.xml").read_bytes()
    feed, rows = parse_feed(body, URL), parse_compact(body, URL)
    assert (rows.warning, rows.ttl_seconds, rows.bozo) == (feed.warning, feed.ttl_seconds, True)
    assert pickle.loads(pickle.dumps(rows)) == rows  # it crosses the process boundary


def test_parse_compact_never_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(feed: object) -> CompactFeed:
        raise RuntimeError("bug")

    monkeypatch.setattr(compact_module, "compact", broken)
    result = parse_compact((FIXTURES / "rss2_basic.xml").read_bytes(), URL)
    assert result.rows == [] and result.bozo
    assert CRASH_MARK in (result.warning or "") and "RuntimeError: bug" in (result.warning or "")
