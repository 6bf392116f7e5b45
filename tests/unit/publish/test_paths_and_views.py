"""Permalinks, footnotes, discussions and recaps read loosely."""

from __future__ import annotations

from datetime import UTC, datetime

from aggregator.publish.data import ItemRow, StoryRow
from aggregator.publish.paths import assign_story_paths, relative_root, safe_week
from aggregator.publish.recaps import recap_body
from aggregator.publish.render import _text_fragment
from aggregator.publish.views import discussion, engagement, points_with_notes

WHEN = datetime(2026, 11, 30, 23, 30, tzinfo=UTC)


def _row(id_: int, slug: str) -> StoryRow:
    return StoryRow(
        id=id_,
        uid=f"u{id_}",
        slug=slug,
        title="T",
        hook="h",
        published_at=WHEN,
        week="2026-W49",
        source="S",
        topics=(),
        mode="llm",
        updated_at=WHEN,
        content_hash="x",
    )


def test_assign_story_paths_keeps_older_slug_and_suffixes_newer() -> None:
    rows = [_row(2, "same"), _row(1, "same"), _row(3, "../../etc")]
    assign_story_paths(rows)
    assert rows[1].path == "items/2026/11/same/"
    assert rows[0].path == "items/2026/11/same-u2/"
    assert rows[2].path == "items/2026/11/etc/"


def test_relative_root_counts_directories() -> None:
    assert relative_root("index.html") == ""
    assert relative_root("items/2026/11/x/index.html") == "../../../../"
    assert relative_root("topics/a/page-2.html") == "../../"


def test_safe_week_accepts_only_iso_weeks() -> None:
    assert safe_week("2026-W47") == "2026-W47"
    assert safe_week("../2026") is None


def test_points_with_notes_numbers_each_quote_once() -> None:
    card = {
        "key_takeaways": [
            {"text": "A", "citations": ["q one", "q two"]},
            {"text": "B", "citations": ["q one"]},
        ],
        "future_implications": [{"text": "C", "citations": []}, {"text": "", "citations": []}],
    }
    sections, notes = points_with_notes(card, "https://ex.org/a")
    assert [p["notes"] for p in sections[0]["points"]] == [[1, 2], [1]]
    assert [n["quote"] for n in notes] == ["q one", "q two"]
    assert notes[0]["url"] == "https://ex.org/a#:~:text=q%20one"
    assert sections[1]["points"] == [{"text": "C", "notes": []}]


def test_text_fragment_escapes_dashes_and_spans_long_quotes() -> None:
    url = _text_fragment("https://e.org/", "a cost-per-token view of one two three four five six")
    assert (
        url == "https://e.org/#:~:text=a%20cost%2Dper%2Dtoken%20view%20of,three%20four%20five%20six"
    )
    assert _text_fragment("https://e.org/#x", "q") == "https://e.org/#x"


def _item(kind: str, engagement: dict) -> ItemRow:
    return ItemRow(
        1, "r/ML", kind, None, "https://www.reddit.com/r/ML/1", "t", None, WHEN, kind, engagement
    )


def test_discussion_reads_reddit_score_comments_and_permalink() -> None:
    item = _item("reddit", {"score": "120", "num_comments": 33, "permalink": "/r/ML/comments/1/"})
    assert discussion(item) == {
        "source": "r/ML",
        "url": "https://www.reddit.com/r/ML/comments/1/",
        "score": 120,
        "comments": 33,
    }
    assert discussion(_item("feed", {})) is None


def test_engagement_takes_best_score_and_sums_comments() -> None:
    items = [
        _item("reddit", {"score": 5, "comments": 2}),
        _item("reddit", {"score": 9, "comments": 1}),
    ]
    assert engagement(items) == {
        "score": 9,
        "comments": 3,
        "discussions": 2,
        "discussion_url": "https://www.reddit.com/r/ML/1",
    }


def test_recap_body_reads_sections_points_and_watch_loosely() -> None:
    recap = {
        "intro": "The week.",
        "sections": [
            {
                "title": "Models",
                "summary": "Big week.",
                "items": [{"title": "X ships", "text": "Why", "story_uid": "u1"}, "plain point", 3],
            },
            "A loose paragraph",
            {"nothing": True},
        ],
        "what_to_watch": ["Pricing", {"text": "Evals"}],
    }
    body = recap_body(recap, {"u1": "items/2026/11/x/index.html"})
    assert body["intro"] == "The week."
    models = body["sections"][0]
    assert models["title"] == "Models" and models["paragraphs"] == ["Big week."]
    assert models["points"][0]["href"] == "items/2026/11/x/index.html"
    assert models["points"][1]["text"] == "plain point"
    assert body["sections"][1]["paragraphs"] == ["A loose paragraph"]
    assert len(body["sections"]) == 2
    assert body["watch"] == ["Pricing", "Evals"]


# Problem 9 of issue 19: non-ASCII names became source, source-2, ... by sort order.
def test_source_slugs_are_transliterated_and_stable() -> None:
    from aggregator.publish.data import SourceInfo
    from aggregator.publish.paths import assign_source_slugs

    def slugs(names: list[str]) -> dict[str, str]:
        infos = [SourceInfo(n, "rss", f"https://{i}.test/", "") for i, n in enumerate(names)]
        return {s.name: s.slug for s in assign_source_slugs(infos)}

    first = slugs(["Ελληνικά Νέα", "Новости ИИ", "東京テック", "Plain Blog"])
    assert first == {
        "Ελληνικά Νέα": "ellinika-nea",
        "Новости ИИ": "novosti-ii",
        "東京テック": "dongjingtetku",
        "Plain Blog": "plain-blog",
    }
    # Adding sources (one sorting first) moves no other source's page.
    more = slugs(["Ä First", "Ελληνικά Νέα", "Новости ИИ", "東京テック", "Plain Blog", "💡"])
    assert all(more[name] == slug for name, slug in first.items())
    assert more["Ä First"] == "a-first"
    assert more["💡"] == "bulb"
    nothing = slugs(["«»", "—"])  # nothing to transliterate: a short hash of the name
    assert len(set(nothing.values())) == 2
    assert all(s.startswith("source-") and len(s) == 15 for s in nothing.values())
