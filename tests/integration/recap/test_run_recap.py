"""The recap stage against a real database (and a scripted LLM server where one is configured)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from aggregator.clock import utcnow
from aggregator.context import open_context
from aggregator.db.models import LLMCall, Recap
from aggregator.recap.compose import RecapDoc, last_complete_week
from aggregator.recap.stage import run_recap
from tests.integration.recap.factories import add_story

pytestmark = pytest.mark.integration
WEEK = "2026-W47"


def recaps(ctx, week: str = WEEK) -> list[Recap]:
    with ctx.session() as session:
        return list(
            session.scalars(select(Recap).where(Recap.week == week).order_by(Recap.revision))
        )


def seed_week(ctx) -> dict[str, int]:
    """Add three stories to WEEK, one to the week before and one without a card; return ids."""
    with ctx.session() as session:
        ids = {
            "big": add_story(session, WEEK, "Big launch", topics=[("models", 0.9)], score=900,
                             comments=120, source_count=3, source_name="A").id,
            "small": add_story(session, WEEK, "Small patch", topics=[("tools", 0.8)], score=3,
                               source_name="B").id,
            "mid": add_story(session, WEEK, "Mid paper", topics=[("models", 0.7)], score=80,
                             source_name="C", next_step="Read the paper").id,
            "old": add_story(session, "2026-W46", "Last week's news", score=5000).id,
            "nocard": add_story(session, WEEK, "No card yet", card=False).id,
        }  # fmt: skip
    return ids


def test_run_recap_extractive_names_only_the_weeks_carded_stories(any_ctx) -> None:
    ids = seed_week(any_ctx)
    report = run_recap(any_ctx, week=WEEK)
    assert report.succeeded == 1 and report.details["mode"] == "extractive"
    (row,) = recaps(any_ctx)
    recap = RecapDoc.model_validate(row.recap)
    assert row.mode == "extractive" and row.revision == 1 and row.model is None
    assert set(row.story_ids) == {ids["big"], ids["small"], ids["mid"]}
    assert recap.sections[0].story_ids == [ids["big"], ids["mid"]]  # ranked, grouped by topic
    assert recap.top_links[0].story_id == ids["big"]
    assert recap.what_to_watch == ["Mid paper: Read the paper."]


def test_run_recap_rerun_adds_revision_and_keeps_old(ctx) -> None:
    seed_week(ctx)
    run_recap(ctx, week=WEEK)
    with ctx.session() as session:
        add_story(session, WEEK, "Late addition", score=10_000, source_count=5)
    report = run_recap(ctx, week=WEEK)
    first, second = recaps(ctx)
    assert (first.revision, second.revision) == (1, 2) and report.details["revision"] == 2
    assert len(second.story_ids) == len(first.story_ids) + 1
    assert second.recap["top_links"][0]["title"] == "Late addition"


def test_run_recap_respects_max_stories(make_settings) -> None:
    ctx = open_context(make_settings(recap={"max_stories": 3}))
    with ctx.session() as session:
        for n in range(6):
            add_story(session, WEEK, f"Story {n}", score=n)
    report = run_recap(ctx, week=WEEK)
    assert report.details["candidates"] == 6
    assert len(recaps(ctx)[0].story_ids) == 3
    ctx.engine.dispose()


def test_run_recap_quiet_week(ctx) -> None:
    report = run_recap(ctx, week="2026-W10")
    (row,) = recaps(ctx, "2026-W10")
    assert report.succeeded == 1 and report.details["quiet"] is True
    assert row.recap["quiet"] is True and row.recap["sections"] == [] and row.story_ids == []


def test_run_recap_defaults_to_last_complete_week(ctx) -> None:
    week = last_complete_week(utcnow(), "UTC")
    report = run_recap(ctx)
    assert report.details["week"] == week and recaps(ctx, week)


def test_run_recap_bad_week_fails_with_one_line(ctx) -> None:
    report = run_recap(ctx, week="2026-47")
    assert report.failed_entirely and report.errors == [
        "recap: week must be an ISO week such as 2026-W47, got '2026-47'"
    ]
    with ctx.session() as session:
        assert session.scalar(select(Recap)) is None


def llm_ctx(make_settings, fake_llm):
    ctx = open_context(make_settings(llm={"base_url": fake_llm.url, "api_key": "sk-test-key"}))
    ctx.extras["llm_client"] = {"max_retries": 0}
    return ctx


def test_run_recap_llm_checks_ids_and_records_the_call(make_settings, fake_llm) -> None:
    ctx = llm_ctx(make_settings, fake_llm)
    ids = seed_week(ctx)
    fake_llm.enqueue({
        "title": "Launch week", "intro": "A big launch and a paper.",
        "sections": [
            {"title": "Models", "synthesis": "Bigger and cheaper.",
             "story_ids": [f"s{ids['big']}", f"s{ids['old']}", "s99999"]},
            {"title": "Invented", "synthesis": "Nothing real.", "story_ids": ["s424242"]},
        ],
        "what_to_watch": ["Pricing"], "top_links": [f"s{ids['mid']}", f"s{ids['nocard']}"],
    })  # fmt: skip
    report = run_recap(ctx, week=WEEK)
    (row,) = recaps(ctx)
    assert row.mode == "llm" and row.prompt_name == "weekly_recap" and row.prompt_version == "v1"
    assert row.prompt_sha256 and row.model == "gpt-4o-mini" and row.cost_usd > 0
    assert [s["title"] for s in row.recap["sections"]] == ["Models"]
    assert row.story_ids == [ids["big"], ids["mid"]]  # last week's and uncarded ones dropped
    assert report.details["dropped_ids"] == 4
    sent = fake_llm.requests[0]["messages"][1]["content"]
    assert f"id: s{ids['big']}" in sent and "Last week's news" not in sent
    with ctx.session() as session:
        call = session.scalar(select(LLMCall))
        assert call.purpose == "recap" and call.subject == WEEK and call.status == "ok"
    # Same input again: answered from the cache, a second revision, no new request.
    run_recap(ctx, week=WEEK)
    assert len(fake_llm.requests) == 1 and len(recaps(ctx)) == 2
    ctx.engine.dispose()


def test_run_recap_llm_failure_falls_back_to_extractive(make_settings, fake_llm) -> None:
    ctx = llm_ctx(make_settings, fake_llm)
    seed_week(ctx)
    fake_llm.enqueue("upstream exploded", status=500)
    report = run_recap(ctx, week=WEEK)
    (row,) = recaps(ctx)
    assert row.mode == "extractive" and report.succeeded == 1
    assert report.errors and report.errors[0].startswith("recap: LLM recap failed")
    with ctx.session() as session:
        assert session.scalar(select(LLMCall.status)) == "error"
    ctx.engine.dispose()


def test_run_recap_llm_over_budget_falls_back(make_settings, fake_llm) -> None:
    ctx = open_context(make_settings(llm={"base_url": fake_llm.url, "api_key": "k",
                                          "daily_budget_usd": 0.0}))  # fmt: skip
    seed_week(ctx)
    report = run_recap(ctx, week=WEEK)
    assert recaps(ctx)[0].mode == "extractive" and "budget" in report.errors[0]
    assert fake_llm.requests == []
    ctx.engine.dispose()


def test_run_recap_revisions_count_up(ctx) -> None:
    seed_week(ctx)
    for _ in range(3):
        run_recap(ctx, week=WEEK)
    assert [r.revision for r in recaps(ctx)] == [1, 2, 3]
    assert all(r.created_at > utcnow() - timedelta(minutes=1) for r in recaps(ctx))
