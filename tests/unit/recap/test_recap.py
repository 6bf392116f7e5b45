"""Unit tests of the recap logic: weeks, ranking, id checks, extractive and LLM recaps."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from aggregator.llm.prompts import load_prompt
from aggregator.recap.compose import (
    RecapDraft,
    RecapError,
    SectionDraft,
    StoryDigest,
    check_story_ids,
    extractive_recap,
    halve_stories,
    last_complete_week,
    parse_week,
    quiet_recap,
    stories_block,
    validate_draft,
)
from aggregator.recap.rank import rank_score, select_stories


def digest(id: int, topic: str | None = "models", **kw) -> StoryDigest:
    """Return a story digest with a hook and one topic."""
    kw.setdefault("title", f"Story {id}")
    kw.setdefault("hook", f"Hook of story {id}")
    topics = ((topic, 0.9),) if topic else ()
    return StoryDigest(id=id, topics=topics, **kw)


@pytest.mark.parametrize("bad", ["2026-47", "2026-W54", "2026-W00", "W47", "", "2026-w47x"])
def test_parse_week_rejects_bad_input(bad: str) -> None:
    with pytest.raises(RecapError, match="recap: week must be an ISO week"):
        parse_week(bad)


def test_parse_week_accepts_week_53_only_in_long_years() -> None:
    assert parse_week("2026-W53") == "2026-W53"  # 2026 has 53 ISO weeks
    with pytest.raises(RecapError):
        parse_week("2025-W53")


def test_last_complete_week_respects_timezone() -> None:
    monday_early_utc = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # Monday of 2026-W48
    assert last_complete_week(monday_early_utc, "UTC") == "2026-W47"
    # Still Sunday evening in Los Angeles: W47 is not over there yet.
    assert last_complete_week(monday_early_utc, "America/Los_Angeles") == "2026-W46"
    sunday = datetime(2026, 11, 29, 23, 0, tzinfo=UTC)
    assert last_complete_week(sunday, "UTC") == "2026-W47"


def test_rank_score_rewards_engagement_sources_and_topic_weight() -> None:
    base = digest(1)
    assert rank_score(digest(2, score=500, comments=80), {}) > rank_score(base, {})
    assert rank_score(digest(3, source_count=4), {}) > rank_score(base, {})
    assert rank_score(base, {"models": 2.0}) > rank_score(base, {})
    assert rank_score(base, {"models": 0.0}) < rank_score(digest(4, topic=None), {})


def test_select_stories_orders_and_caps() -> None:
    stories = [digest(i, score=i * 10) for i in range(1, 11)]
    chosen = select_stories(stories, {}, 3)
    assert [s.id for s in chosen] == [10, 9, 8]


def test_select_stories_topic_weight_lifts_a_quiet_topic() -> None:
    loud = digest(1, topic="policy", score=50)
    quiet = digest(2, topic="research", score=5)
    assert select_stories([loud, quiet], {}, 2)[0].id == 1
    assert select_stories([loud, quiet], {"research": 5.0}, 2)[0].id == 2


def test_check_story_ids_drops_unknown_and_duplicates() -> None:
    kept, dropped = check_story_ids(["s3", "S1", "s3", "s999", "nonsense", 2, None], {1, 2, 3})
    assert kept == [3, 1, 2]
    assert dropped == ["s999", "nonsense", "None"]


def test_extractive_recap_groups_by_topic_with_tldrs_not_hooks() -> None:
    stories = [digest(1, "models", source="A", what_changed="Lumen cut prices by half."),
               digest(2, "policy", source="B"),
               digest(3, "models", source="A", next_step="Try the new API"),
               digest(4, "models", next_step="The source states no next step.")]  # fmt: skip
    recap = extractive_recap("2026-W47", stories, {"models": "Foundation models"})
    assert recap.mode == "extractive" and not recap.quiet
    assert [s.title for s in recap.sections] == ["Foundation models", "policy"]
    assert recap.sections[0].story_ids == [1, 3, 4]
    # One line per story, credited to its source: sentences from different outlets are never
    # glued into one paragraph, and a hook never stands in for the TL;DR.
    lines = recap.sections[0].items
    assert [(i.story_id, i.source, i.text) for i in lines] == [
        (1, "A", "Lumen cut prices by half."),
        (3, "A", ""),
        (4, "", ""),
    ]
    assert recap.sections[0].synthesis == ""
    assert "extractive" in recap.intro and "2 sources" in recap.intro
    # "no next step" is not something to watch; a step names the story it belongs to.
    assert recap.what_to_watch == ["Story 3: Try the new API."]
    asked = digest(5, title="Are receipts enforceable?", next_step="Comments close on 9 May")
    assert extractive_recap("2026-W47", [asked], {}).what_to_watch == [
        "Are receipts enforceable? — Comments close on 9 May."
    ]
    assert recap.story_ids() == [1, 3, 4, 2]


def test_extractive_recap_headline_and_intro_claim_only_what_we_measure() -> None:
    stories = [digest(1, title="Halvard cuts Tern-2 prices by 60%"),
               digest(2, what_changed="Prices fell again"), digest(3)]  # fmt: skip
    recap = extractive_recap("2026-W48", stories, {})
    assert recap.title == "Week 48, 2026: Halvard cuts Tern-2 prices by 60%, and 2 more stories"
    assert "most-read" not in recap.intro.lower() and "independent sources" in recap.intro
    lines = [i.text for s in recap.sections for i in s.items if i.text]
    lines += [*recap.what_to_watch, recap.intro]
    assert "Prices fell again." in lines
    assert all(line.rstrip().endswith((".", "!", "?", "…")) for line in lines)
    long = [digest(1, title="A very long lead title " * 10), digest(2)]
    title = extractive_recap("2026-W48", long, {}).title
    assert len(title) <= 160 and title.endswith("…, and 1 more story")


def test_rank_prefers_two_sources_over_a_small_reddit_post() -> None:
    end = datetime(2026, 11, 30, tzinfo=UTC)
    when = datetime(2026, 11, 26, tzinfo=UTC)
    post = digest(1, score=14, comments=6, published_at=when)
    covered = digest(2, source_count=2, item_count=2, published_at=when)
    assert [s.id for s in select_stories([post, covered], {}, 2, end)] == [2, 1]
    grew = digest(3, source_count=2, item_count=5, published_at=when)
    assert rank_score(grew, {}, end) > rank_score(covered, {}, end)  # it grew during the week
    newer = digest(4, source_count=2, item_count=2, published_at=end)
    assert rank_score(newer, {}, end) > rank_score(covered, {}, end)  # recency counts a little


def test_a_busy_thread_does_not_outrank_twice_the_sources() -> None:
    end = datetime(2026, 12, 7, tzinfo=UTC)
    thread = digest(1, source_count=2, item_count=2, score=400, comments=120,
                    published_at=datetime(2026, 12, 5, tzinfo=UTC))  # fmt: skip
    launch = digest(2, source_count=4, item_count=4, published_at=datetime(2026, 12, 2, tzinfo=UTC))
    assert [s.id for s in select_stories([thread, launch], {}, 2, end)] == [2, 1]
    # Engagement still counts between stories with the same coverage.
    quiet = digest(3, source_count=2, item_count=2, published_at=datetime(2026, 12, 5, tzinfo=UTC))
    assert rank_score(thread, {}, end) > rank_score(quiet, {}, end)


def test_extractive_recap_folds_topics_beyond_six() -> None:
    stories = [digest(i, f"t{i}") for i in range(1, 10)]
    recap = extractive_recap("2026-W47", stories, {})
    assert len(recap.sections) == 6
    assert recap.sections[-1].title == "More this week"
    assert recap.sections[-1].story_ids == [6, 7, 8, 9]


def test_extractive_recap_without_stories_is_quiet() -> None:
    recap = extractive_recap("2026-W47", [], {})
    assert recap.quiet and recap.sections == [] and recap == quiet_recap("2026-W47")


def test_validate_draft_drops_unknown_ids_and_empty_sections() -> None:
    stories = [digest(1, url="https://a.example/1"), digest(2)]
    draft = RecapDraft(
        title="Open weights week",
        intro="Two launches.",
        sections=[
            SectionDraft(title="Models", synthesis="Both matter.", story_ids=["s1", "s77"]),
            SectionDraft(title="Ghost", synthesis="Invented.", story_ids=["s404"]),
        ],
        what_to_watch=["Pricing changes", " "],
        top_links=["s2", "s55"],
    )
    checked = validate_draft("2026-W47", draft, stories)
    recap = checked.recap
    assert recap.mode == "llm"
    assert [s.title for s in recap.sections] == ["Models"]
    assert recap.sections[0].story_ids == [1]
    assert [t.story_id for t in recap.top_links] == [2]
    assert sorted(checked.dropped) == ["s404", "s55", "s77"]
    assert recap.what_to_watch == ["Pricing changes."]


def test_validate_draft_fills_top_links_from_sections() -> None:
    stories = [digest(1, url="https://a.example/1"), digest(2)]
    draft = RecapDraft(title="T", intro="I", what_to_watch=[], top_links=[],
                       sections=[SectionDraft(title="S", synthesis="X", story_ids=["s1"])])  # fmt: skip
    recap = validate_draft("2026-W47", draft, stories).recap
    assert [(t.story_id, t.url) for t in recap.top_links] == [(1, "https://a.example/1")]


def test_validate_draft_raises_when_no_story_is_known() -> None:
    draft = RecapDraft(title="T", intro="I", what_to_watch=[], top_links=[],
                       sections=[SectionDraft(title="S", synthesis="X", story_ids=["s9"])])  # fmt: skip
    with pytest.raises(RecapError, match="names none of the week's stories"):
        validate_draft("2026-W47", draft, [digest(1)])


def test_stories_block_flattens_untrusted_text() -> None:
    block = stories_block([digest(7, title="Line\nbreak", hook="a\n\nb", why="why", score=3)])
    assert block.startswith("id: s7\ntitle: Line break\nhook: a b\nwhy it matters: why")
    assert "\n\n" not in block  # blank lines separate stories only
    assert (
        halve_stories({"stories": stories_block([digest(1), digest(2)])})["stories"].count("id: s")
        == 1
    )


def test_weekly_recap_prompt_renders_with_recap_variables() -> None:
    prompt = load_prompt("weekly_recap/v1")
    system, user = prompt.render({"week": "2026-W47", "stories": stories_block([digest(3)])})
    assert "2026-W47" in user and "id: s3" in user and "s12" in system


def test_extractive_recap_puts_untopical_stories_last() -> None:
    stories = [digest(1, topic=None, score=999), digest(2, "models")]
    recap = extractive_recap("2026-W47", stories, {"models": "Models"})
    assert [s.title for s in recap.sections] == ["Models", "Other news"]
    assert recap.top_links[0].story_id == 1  # still the week's top link


def test_validate_draft_keeps_a_headline_about_a_named_story_only() -> None:
    stories = [
        digest(1, title="Halvard cuts Tern-2 prices by 60%"),
        digest(2, title="Vireo 3.0 ships"),
    ]
    section = SectionDraft(title="Models", synthesis="Prices fell.", story_ids=["s1", "s2"])

    def headline(title: str) -> str:
        draft = RecapDraft(title=title, intro="i", sections=[section], what_to_watch=[],
                           top_links=[])  # fmt: skip
        return validate_draft("2026-W48", draft, stories).recap.title

    assert headline("Halvard's Tern-2 price cut leads the week") == (
        "Halvard's Tern-2 price cut leads the week"
    )
    # A headline about a story the week does not have is replaced by the offline one.
    assert headline("Orison raises $2 billion") == (
        "Week 48, 2026: Halvard cuts Tern-2 prices by 60%, and 1 more story"
    )
