"""LLM mode of a revision: the update prompt sees the card and the new report, cites only it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from aggregator.context import Context
from aggregator.db.models import Article, Card, CardRevision, Item, LLMCall, Source, Story
from aggregator.llm.sentences import number_sentences
from aggregator.revise.stage import run_revise
from tests.servers.openai_server import FakeOpenAI, Reply

OLD = "The Riverside council voted on Tuesday to build a flood barrier along the old harbor."
NEW_FACT = "The regional water authority will pay 40 percent of the 85 million euro cost."
NEW = f"The council approved the harbor flood barrier on Tuesday. {NEW_FACT}"
CARD = {
    "title": "Riverside approves harbor flood barrier",
    "hook": "A barrier will protect the old harbor from storm surges.",
    "tldr": {"what_changed": "The council approved a flood barrier.",
             "why_it_matters": "The harbor district flooded four times since 2019.",
             "what_to_do_next": ""},
    "key_takeaways": [{"text": "The council voted for a barrier.", "citations": [OLD]}],
    "technical_deep_dive": [], "future_implications": [], "topics": [], "entities": [],
    "timeliness": "time-bound",
}  # fmt: skip


def _story(ctx: Context) -> int:
    now = datetime.now(UTC)
    with ctx.session() as s:
        a, b = (
            Source(name="Harbor Wire", kind="rss", url="http://a/"),
            Source(name="Coastal Ledger", kind="rss", url="http://b/"),
        )
        s.add_all([a, b])
        s.flush()
        story = Story(uid="riverside1", slug="riverside", title="Barrier", week="2026-W49",
                      published_at=now - timedelta(days=1), item_count=2, source_count=2)  # fmt: skip
        s.add(story)
        s.flush()
        for source, guid, text, when in ((a, "1", OLD, 1), (b, "2", NEW, 0)):
            item = Item(source_id=source.id, guid_hash=guid, title="Flood barrier", url=None,
                        published_at=now - timedelta(days=when, hours=1), story_id=story.id)  # fmt: skip
            s.add(item)
            s.flush()
            s.add(Article(item_id=item.id, text=text, method="test"))
            if guid == "1":
                story.primary_item_id, first = item.id, item.id
        s.add(Card(story_id=story.id, card=CARD, mode="llm", content_hash="h", revision=1))
        s.add(CardRevision(story_id=story.id, revision=1, reason="first", card=CARD, mode="llm",
                           item_ids=[first], item_count=1))  # fmt: skip
        return story.id


def test_revise_llm_cites_only_new_report(llm_ctx: Context, openai_server: FakeOpenAI) -> None:
    story_id = _story(llm_ctx)
    fact_number = number_sentences(NEW).sentences.index(NEW_FACT) + 1
    openai_server.enqueue(Reply(content={
        "whats_new": [{"text": "The water authority pays 40% of the cost.", "cite": [fact_number]},
                      {"text": "An invented claim.", "cite": [99]},
                      {"text": "The council approved it.", "cite": [1]}],
        "what_changed": "The council approved the barrier and the water authority pays 40%.",
    }))  # fmt: skip
    report = run_revise(llm_ctx)
    assert report.details.get("revised") == 1
    sent = openai_server.requests[-1]["body"]["messages"][-1]["content"]
    assert "The council voted for a barrier." in sent and f"[{fact_number}] {NEW_FACT}" in sent
    assert OLD not in sent.split("REPORTS", 1)[1]  # the earlier report is not shown as new
    with llm_ctx.session() as s:
        row = s.scalar(select(CardRevision).where(CardRevision.revision == 2))
        card = s.scalar(select(Card).where(Card.story_id == story_id))
        calls = s.scalars(select(LLMCall).where(LLMCall.purpose == "revise")).all()
    assert row is not None and row.reason == "new_sources"
    # The invented number and the restatement of the card are not published.
    assert [(p["text"], p["citations"]) for p in row.whats_new] == [
        ("The water authority pays 40% of the cost.", [NEW_FACT])
    ]
    assert row.whats_new[0]["source"] == "Coastal Ledger"
    assert card.revision == 2 and "water authority" in card.card["tldr"]["what_changed"]
    assert len(calls) == 1 and calls[0].cost_usd > 0


def test_revise_llm_failure_falls_back_to_quotes(
    llm_ctx: Context, openai_server: FakeOpenAI
) -> None:
    _story(llm_ctx)
    openai_server.enqueue(*[Reply(status=500) for _ in range(6)])
    run_revise(llm_ctx)
    with llm_ctx.session() as s:
        row = s.scalar(select(CardRevision).where(CardRevision.revision == 2))
    assert row is not None and [p["text"] for p in row.whats_new] == [NEW_FACT]
