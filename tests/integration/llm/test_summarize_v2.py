"""Prompt v2 end to end: numbered article out, sentence numbers back, verbatim sentences stored."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import select

from aggregator.context import Context, open_context
from aggregator.db.models import Card, LLMCall
from aggregator.llm.sentences import number_sentences
from aggregator.settings import Settings
from aggregator.summarize.stage import run_summarize
from tests.integration.llm.conftest import FAST, add_story, fixture_text
from tests.servers.openai_server import FakeOpenAI

pytestmark = pytest.mark.integration
ARTICLE = fixture_text("article_inference_pricing.txt")
SENTENCES = number_sentences(ARTICLE).sentences


@pytest.fixture
def v2_ctx(llm_settings: Callable[..., Settings]):
    """Return a context whose live item prompt is summarize_item/v2."""
    context = open_context(llm_settings(item_prompt="summarize_item/v2"))
    context.extras["llm_client"] = FAST
    yield context
    context.engine.dispose()


NAMES = ("zero", "one", "two", "three", "four")


def answer(cites: list[list[int]], implication: list[int] | None = None) -> dict:
    """Return a v2 reply whose takeaways cite the given sentence numbers."""
    # Words, not digits: a number in a point must be in its cited sentence (claims check).
    point = lambda i, c: {"text": f"Takeaway {NAMES[i]}.", "cite": c}  # noqa: E731
    return {
        "title": "Lumen cuts Corvid-7 prices", "hook": "Serving got cheaper without new GPUs.",
        "tldr": {"what_changed": "Prices fell 60 percent.", "why_it_matters": "Cheaper tokens.",
                 "what_to_do_next": "Re-price your workloads."},
        "key_takeaways": [point(i, c) for i, c in enumerate(cites)],
        "technical_deep_dive": [],
        "future_implications": [{"text": "Rivals may follow.", "cite": implication or [9]}],
        "topics": [{"slug": "inference-economics", "score": 0.9}], "entities": ["Lumen Labs"],
        "timeliness": "time-bound",
    }  # fmt: skip


def only_card(ctx: Context) -> Card:
    with ctx.session() as session:
        return session.scalars(select(Card)).one()


def test_summarize_v2_default_reply_stores_verbatim_sentences(v2_ctx, openai_server: FakeOpenAI):
    add_story(v2_ctx, "Lumen cuts prices", ARTICLE)
    assert run_summarize(v2_ctx).succeeded == 1
    body = openai_server.requests[0]["body"]
    user = body["messages"][1]["content"]
    assert "[1] Lumen Labs cut the price" in user and "[10] Lumen also said" in user
    assert '"cite"' in str(body["response_format"]).replace("'", '"')
    card = only_card(v2_ctx)
    assert (card.prompt_name, card.prompt_version) == ("summarize_item", "v2")
    assert card.grounded_ratio == 1.0 and len(card.card["key_takeaways"]) == 3
    for point in card.card["key_takeaways"] + card.card["future_implications"]:
        assert point["citations"] and all(q in SENTENCES for q in point["citations"])


def test_summarize_v2_drops_invalid_numbers_and_their_points(v2_ctx, openai_server: FakeOpenAI):
    add_story(v2_ctx, "Lumen cuts prices", ARTICLE)
    openai_server.enqueue(answer([[2], [42], [5, 77]]))
    run_summarize(v2_ctx)
    card = only_card(v2_ctx)
    kept = card.card["key_takeaways"]
    assert [p["text"] for p in kept] == ["Takeaway zero.", "Takeaway two."]
    assert [p["citations"] for p in kept] == [[SENTENCES[1]], [SENTENCES[4]]]
    assert card.card["future_implications"][0]["citations"] == [SENTENCES[8]]
    assert card.grounded_ratio == 0.6  # 3 of 5 numbers name a sentence
    assert len(openai_server.requests) == 1  # two takeaways survived: no retry


def test_summarize_v2_retries_once_with_feedback_on_bad_numbers(v2_ctx, openai_server):
    add_story(v2_ctx, "Lumen cuts prices", ARTICLE)
    openai_server.enqueue(answer([[1], [40], [41]]), answer([[1], [4], [5]]))
    run_summarize(v2_ctx)
    feedback = openai_server.requests[1]["body"]["messages"][-1]["content"]
    assert "sentence number" in feedback and "brackets" in feedback
    card = only_card(v2_ctx)
    assert len(card.card["key_takeaways"]) == 3 and card.grounded_ratio == 1.0
    with v2_ctx.session() as session:
        assert len(session.scalars(select(LLMCall)).all()) == 2


def test_summarize_v2_works_in_json_object_mode(v2_ctx, openai_server: FakeOpenAI):
    openai_server.reject_formats = {"json_schema"}
    add_story(v2_ctx, "Lumen cuts prices", ARTICLE)
    assert run_summarize(v2_ctx).succeeded == 1
    kinds = [r["body"]["response_format"]["type"] for r in openai_server.requests]
    assert kinds == ["json_schema", "json_object"]
    assert '"cite"' in openai_server.requests[1]["body"]["messages"][0]["content"]
    assert only_card(v2_ctx).grounded_ratio == 1.0
