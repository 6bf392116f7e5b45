"""Never a hole: a story whose LLM card fails for good gets a labelled extractive stand-in."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from aggregator.clock import utcnow
from aggregator.context import Context, open_context
from aggregator.db.models import Card, Job
from aggregator.llm.pricing import next_utc_day
from aggregator.summarize.stage import run_summarize
from tests.integration.llm.conftest import FAST, add_story, fixture_json, fixture_text
from tests.servers.openai_server import FakeOpenAI, Reply

pytestmark = pytest.mark.integration
ARTICLE = fixture_text("article_inference_pricing.txt")
VALID = fixture_json("card_inference_pricing_valid.json")


def cards(ctx: Context) -> dict[int, Card]:
    with ctx.session() as session:
        return {c.story_id: c for c in session.scalars(select(Card))}


def job_of(ctx: Context, story_id: int) -> Job:
    with ctx.session() as session:
        return session.scalars(select(Job).where(Job.subject_id == story_id)).one()


def make_due(ctx: Context) -> None:
    with ctx.session() as session:
        session.execute(update(Job).values(next_attempt_at=utcnow() - timedelta(seconds=1)))


def test_invalid_output_gets_a_labelled_stand_in_replaced_when_the_llm_succeeds(
    llm_settings, openai_server: FakeOpenAI
):
    ctx = open_context(llm_settings(fallback_retry_after="2h"))
    ctx.extras["llm_client"] = FAST
    story = add_story(ctx, "Lumen cuts prices", ARTICLE)
    openai_server.enqueue("I am not able to write JSON.", "Still only prose, sorry.",
                          "Prose again.")  # fmt: skip
    report = run_summarize(ctx)
    assert report.details["fallback"] == 1 and report.failed == 0
    card = cards(ctx)[story]
    assert card.mode == "extractive" and card.revision == 1
    assert "model output invalid" in card.fallback_reason
    job = job_of(ctx, story)
    assert job.status == "pending" and "model output invalid" in job.last_error
    assert job.next_attempt_at > utcnow() + timedelta(minutes=119)
    # Planners see why the card is a stand-in (API 1.2), and that a model's card replaced it.
    generation = planner_record(ctx)["generation"]
    assert generation["mode"] == "extractive"
    assert "model output invalid" in generation["fallback_reason"]
    make_due(ctx)
    openai_server.enqueue(VALID)
    report = run_summarize(ctx)
    card = cards(ctx)[story]
    assert report.succeeded == 1 and card.mode == "llm" and card.revision == 2
    assert card.fallback_reason is None and job_of(ctx, story).status == "done"
    generation = planner_record(ctx)["generation"]
    assert generation["mode"] == "llm" and generation["fallback_reason"] is None
    ctx.engine.dispose()


def planner_record(ctx: Context) -> dict:
    """Return the one story's planner API record, checked against the published schema."""
    import jsonschema

    from aggregator.publish.api_schema import api_schema
    from aggregator.publish.stage import export_records

    with ctx.session() as session:
        (record,) = export_records(session, settings=ctx.settings)
    schema = api_schema("https://news.example.org/")
    item_schema = {"$defs": schema["$defs"], **schema["$defs"]["item"]}
    jsonschema.Draft202012Validator(item_schema).validate(record)
    return record


def test_exhausted_attempts_fall_back_but_a_transient_fault_retries_first(
    llm_settings, openai_server: FakeOpenAI
):
    ctx = open_context(llm_settings(max_retries=0))
    ctx.extras["llm_client"] = FAST
    story = add_story(ctx, "Lumen cuts prices", ARTICLE)
    openai_server.enqueue(Reply(status=503, error="overloaded"))
    run_summarize(ctx)
    assert story not in cards(ctx) and job_of(ctx, story).status == "pending"
    with ctx.session() as session:  # the last attempt is next
        session.execute(update(Job).values(attempts=5, next_attempt_at=utcnow()))
    openai_server.enqueue(Reply(status=503, error="still overloaded"))
    run_summarize(ctx)
    card = cards(ctx)[story]
    assert card.mode == "extractive" and "HTTP 503: still overloaded" in card.fallback_reason
    ctx.engine.dispose()


def test_ungroundable_card_falls_back(llm_settings, openai_server: FakeOpenAI):
    ctx = open_context(llm_settings())
    ctx.extras["llm_client"] = FAST
    story = add_story(ctx, "Lumen cuts prices", ARTICLE)
    invented = {**VALID, "key_takeaways": [
        {"text": f"Point {i}.", "citations": [f"A sentence the article never said, number {i}."]}
        for i in range(3)]}  # fmt: skip
    openai_server.enqueue(invented, invented)
    run_summarize(ctx)
    card = cards(ctx)[story]
    assert card.mode == "extractive" and "could be grounded" in card.fallback_reason
    ctx.engine.dispose()


def test_spent_budget_fills_with_extractive_cards_until_tomorrow(
    llm_settings, openai_server: FakeOpenAI
):
    ctx = open_context(llm_settings(daily_budget_usd=0.0065, max_concurrency=1))
    ctx.extras["llm_client"] = FAST
    ids = [add_story(ctx, f"Story {i}", ARTICLE.replace("Lumen", f"Lumen{i}")) for i in range(5)]
    report = run_summarize(ctx)
    assert report.details["budget_reached"] == "budget"
    made = cards(ctx)
    assert set(made) == set(ids)  # no hole
    stand_ins = [c for c in made.values() if c.mode == "extractive"]
    assert stand_ins and all(c.fallback_reason == "daily LLM budget reached" for c in stand_ins)
    assert any(c.mode == "llm" for c in made.values())
    for card in stand_ins:
        job = job_of(ctx, card.story_id)
        assert job.status == "pending" and job.next_attempt_at == next_utc_day()
    calls = len(openai_server.requests)
    report = run_summarize(ctx)  # the same day: nothing is asked, nothing changes
    assert len(openai_server.requests) == calls and report.processed == 0
    ctx.engine.dispose()


def test_no_stand_ins_when_fill_is_off(llm_settings, openai_server: FakeOpenAI):
    ctx = open_context(llm_settings(fill_with_extractive=False))
    ctx.extras["llm_client"] = FAST
    story = add_story(ctx, "Lumen cuts prices", ARTICLE)
    openai_server.enqueue("prose", "prose", "prose")
    report = run_summarize(ctx)
    assert report.failed == 1 and story not in cards(ctx)
    ctx.engine.dispose()
