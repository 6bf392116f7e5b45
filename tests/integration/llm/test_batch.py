"""The Batch API path against the scripted server: submit, poll, store, retry live, resume."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from aggregator.context import Context, open_context
from aggregator.db.models import Card, Job, LLMBatch, LLMCall
from aggregator.summarize.stage import run_summarize
from tests.integration.llm.conftest import FAST, add_story, fixture_text
from tests.servers.openai_server import FakeOpenAI, Reply

pytestmark = pytest.mark.integration
ARTICLE = fixture_text("article_inference_pricing.txt")


def backlog(llm_settings, count: int = 5, **llm) -> tuple[Context, list[int]]:
    ctx = open_context(llm_settings(batch="auto", batch_threshold=3, **llm))
    ctx.extras["llm_client"] = FAST
    ids = [add_story(ctx, f"Story {i}", ARTICLE.replace("Lumen", f"Lumen{i}"))
           for i in range(count)]  # fmt: skip
    return ctx, ids


def rows(ctx: Context, model: type) -> list:
    with ctx.session() as session:
        return list(session.scalars(select(model)))


def live_calls(server: FakeOpenAI) -> int:
    return sum(r["path"] == "/v1/chat/completions" for r in server.requests)


def test_backlog_goes_into_one_batch_and_is_stored_at_batch_price(
    llm_settings, openai_server: FakeOpenAI
):
    openai_server.batch_polls = 2
    ctx, ids = backlog(llm_settings)
    report = run_summarize(ctx)
    assert report.details["batch_submitted"] == 5 and live_calls(openai_server) == 0
    [batch] = rows(ctx, LLMBatch)
    assert batch.status == "submitted" and batch.remote_id == "batch_1"
    assert all(j.claimed_by == f"batch:{batch.id}" for j in rows(ctx, Job))
    stand_ins = rows(ctx, Card)  # no hole while the batch runs: labelled extractive cards
    assert sorted(c.story_id for c in stand_ins) == sorted(ids)
    assert all(c.mode == "extractive" and "Batch API" in c.fallback_reason for c in stand_ins)
    run_summarize(ctx)  # still in progress
    assert rows(ctx, LLMBatch)[0].remote_status == "in_progress"
    report = run_summarize(ctx)
    assert report.details["batch_cards"] == 5 and live_calls(openai_server) == 0
    cards = rows(ctx, Card)
    assert sorted(c.story_id for c in cards) == sorted(ids)
    assert all(c.mode == "llm" and c.grounded_ratio == 1.0 for c in cards)
    assert all(c.fallback_reason is None and c.revision == 2 for c in cards)
    calls = rows(ctx, LLMCall)
    assert len(calls) == 5 and all(c.options.get("batch") for c in calls)
    for call in calls:  # half of the live price (input 1.0, output 2.0 per million)
        live = (call.tokens_in * 1.0 + call.tokens_out * 2.0) / 1_000_000
        assert call.cost_usd == pytest.approx(live / 2, rel=1e-6)
    assert {j.status for j in rows(ctx, Job)} == {"done"}
    assert rows(ctx, LLMBatch)[0].status == "done" and len(openai_server.batches) == 1
    ctx.engine.dispose()


def test_failed_and_invalid_lines_are_asked_live(llm_settings, openai_server: FakeOpenAI):
    ctx, ids = backlog(llm_settings)
    run_summarize(ctx)
    openai_server.enqueue(Reply(status=500, error="line exploded"), "no JSON in this answer")
    report = run_summarize(ctx)  # the batch completes; two lines go live in the same run
    assert report.details["batch_cards"] == 3 and report.details["batch_retried_live"] == 2
    assert live_calls(openai_server) == 2
    assert sorted(c.story_id for c in rows(ctx, Card)) == sorted(ids)
    calls = rows(ctx, LLMCall)
    batched = [c for c in calls if c.options.get("batch")]
    assert len(batched) == 5 and len(calls) == 7  # every line in the ledger, then 2 live calls
    assert sorted(c.status for c in batched) == ["error", "invalid", "ok", "ok", "ok"]
    assert any("line exploded" in (c.error or "") for c in batched)
    assert {j.status for j in rows(ctx, Job)} == {"done"}
    ctx.engine.dispose()


def test_restart_resumes_the_same_batch(llm_settings, openai_server: FakeOpenAI):
    openai_server.batch_polls = 1
    ctx, ids = backlog(llm_settings)
    run_summarize(ctx)
    settings = ctx.settings
    ctx.engine.dispose()
    # A crash after the batch was created but before its id was stored.
    again = open_context(settings)
    again.extras["llm_client"] = FAST
    with again.session() as session:
        session.execute(update(LLMBatch).values(remote_id=None, status="preparing"))
    run_summarize(again)
    assert len(openai_server.batches) == 1 and live_calls(openai_server) == 0
    assert sorted(c.story_id for c in rows(again, Card)) == sorted(ids)
    assert rows(again, LLMBatch)[0].remote_id == "batch_1"
    again.engine.dispose()


def test_small_backlog_and_other_servers_stay_live(llm_settings, openai_server: FakeOpenAI):
    ctx, _ = backlog(llm_settings, count=3)  # not more than the threshold
    run_summarize(ctx)
    assert openai_server.batches == {} and live_calls(openai_server) == 3
    ctx.engine.dispose()
    assert not llm_settings().llm.batch_enabled  # a local base URL defaults to "never"
