"""Listing pages partition the stories: each story on exactly one page, full pages stable."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from aggregator.publish.data import StoryRow
from aggregator.publish.pages import page_chunks

START = datetime(2026, 11, 1, tzinfo=UTC)


def _rows(count: int) -> list[StoryRow]:
    """Return `count` stories, newest first (as listings order them)."""
    rows = [
        StoryRow(i, f"s{i}", f"story-{i}", f"Story {i}", "", START + timedelta(hours=i), "2026-W45",
                 "Blog", (), "llm", START, "h")
        for i in range(count)
    ]  # fmt: skip
    return rows[::-1]


@pytest.mark.parametrize("count", [0, 1, 19, 20, 21, 29, 40, 41, 100])
def test_page_chunks_partition_the_stories(count: int) -> None:
    rows = _rows(count)
    front, numbered = page_chunks(rows, 20)
    pages = [front, *numbered]
    ids = [r.id for page in pages for r in page]
    assert sorted(ids) == sorted(r.id for r in rows)  # every story, none twice
    assert len(front) == min(20, count)
    assert all(0 < len(page) <= 20 for page in numbered)
    # Newest first within each page, and pages run newest (front) to oldest (page-1).
    reading = [r.id for page in [front, *reversed(numbered)] for r in page]
    assert reading == [r.id for r in rows]


def test_page_chunks_keep_full_pages_when_a_story_arrives() -> None:
    before = page_chunks(_rows(45), 20)[1]
    after = page_chunks(_rows(46), 20)[1]
    assert [r.id for r in after[0]] == [r.id for r in before[0]]  # page-1: the 20 oldest
    assert len(after[-1]) == len(before[-1]) + 1  # the newest numbered page grew by one
