"""Grounding: citations checked against the article, uncited points unpublished."""

from __future__ import annotations

import json
from pathlib import Path

from aggregator.llm.schema import CardDraft, TopicScore
from aggregator.summarize.grounding import ArticleText, clean_topics, ground_card, normalize

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "llm"
ARTICLE = (FIXTURES / "article_inference_pricing.txt").read_text(encoding="utf-8")


def draft(name: str) -> CardDraft:
    return CardDraft.model_validate(json.loads((FIXTURES / name).read_text(encoding="utf-8")))


def test_normalize_folds_quotes_dashes_and_whitespace():
    assert normalize("“Smart”  quotes —\n dashes\u00a0and ‘single’…") == (
        "\"Smart\" quotes - dashes and 'single'..."
    )


def test_article_find_accepts_curly_quotes_and_different_spacing():
    article = ArticleText('He said "we did not buy a single extra card" -- and left.')
    assert (
        article.find("“we did not buy a   single extra card”")
        == "we did not buy a single extra card"
    )


def test_article_find_accepts_a_typo_level_near_match_with_the_article_wording():
    found = ArticleText(ARTICLE).find(
        "the scheduler groups request of similar length so that short"
    )
    assert found == "the scheduler groups requests of similar length so that short"


def test_article_find_rejects_a_paraphrase_and_short_quotes():
    article = ArticleText(ARTICLE)
    assert article.find("Lumen bought many new GPUs to serve more requests") is None
    assert article.find("the company") is None  # too short to prove anything


def test_ground_card_keeps_a_fully_cited_card():
    grounded = ground_card(
        draft("card_inference_pricing_valid.json"), ARTICLE, {"inference-economics"}
    )
    assert grounded.grounded_ratio == 1.0
    assert grounded.takeaways == 3
    assert [t.slug for t in grounded.card.topics] == [
        "inference-economics"
    ]  # made-up-topic dropped


def test_ground_card_removes_invented_citations_and_uncited_points():
    grounded = ground_card(draft("card_inference_pricing_invented_citations.json"), ARTICLE, set())
    texts = [p.text for p in grounded.card.key_takeaways]
    assert "Lumen bought ten thousand new GPUs." not in texts  # its only quote was invented
    assert texts == ["Corvid-7 is 60% cheaper.", "The release was driven by software."]
    first = grounded.card.key_takeaways[0]
    assert first.citations == [
        "cut the price of its hosted Corvid-7 model by 60 percent on Tuesday"
    ]
    assert grounded.verified == 3 and grounded.total == 5
    assert grounded.grounded_ratio == 0.6
    assert grounded.dropped_points == 1
    assert "Lumen purchased ten thousand new accelerators for this launch" in grounded.unverified


def test_clean_topics_drops_unknown_and_unconfident_slugs():
    topics = [
        TopicScore(slug="a", score=0.9),
        TopicScore(slug="zzz", score=1.0),
        TopicScore(slug="b", score=0.1),
        TopicScore(slug="a", score=0.4),
    ]
    assert clean_topics(topics, {"a", "b"}) == [TopicScore(slug="a", score=0.9)]
