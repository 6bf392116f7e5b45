"""The offline backend: cards from the article's own sentences, topics by similarity."""

from __future__ import annotations

import asyncio
from pathlib import Path

from aggregator.llm.extractive import build_card, score_topics, split_sentences
from aggregator.settings import Settings, Topic
from aggregator.summarize.grounding import ground_card
from aggregator.summarize.summarizer import ExtractiveSummarizer, StoryInput

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "llm"
ARTICLE = (FIXTURES / "article_inference_pricing.txt").read_text(encoding="utf-8")
TOPICS = [
    Topic(slug="inference-economics", name="Inference economics",
          description="Serving costs, token prices, GPUs and batching", keywords=["GPU"]),
    Topic(slug="robotics", name="Robotics", description="Robots, actuators and their software"),
]  # fmt: skip


def test_split_sentences_breaks_at_sentence_ends_and_paragraphs():
    assert split_sentences("One two. Three four!\n\nFive six? Seven") == [
        "One two.",
        "Three four!",
        "Five six?",
        "Seven",
    ]


def test_split_sentences_keeps_titles_and_abbreviations_inside_a_sentence():
    text = "Dr. Ines Varga of the U.S. lab said costs fell 60%. The rest came later."
    assert split_sentences(text) == [
        "Dr. Ines Varga of the U.S. lab said costs fell 60%.",
        "The rest came later.",
    ]


def test_build_card_cites_verbatim_sentences_only():
    card = build_card("Lumen Labs cuts Corvid-7 prices", ARTICLE, TOPICS)
    assert 3 <= len(card.key_takeaways) <= 5
    for point in card.key_takeaways + card.technical_deep_dive + card.future_implications:
        assert point.citations == [point.text]
        assert point.text in " ".join(ARTICLE.split())
    assert ground_card(card, ARTICLE, {"inference-economics"}).grounded_ratio == 1.0


def test_build_card_finds_future_points_and_names():
    card = build_card("Lumen Labs cuts Corvid-7 prices", ARTICLE, TOPICS)
    assert any(
        "open source later this year" in p.text or "expect" in p.text
        for p in card.future_implications
    )
    assert "Lumen Labs" in card.entities
    assert "Ada Moreno" in card.entities


def test_score_topics_picks_the_similar_topic_only():
    topics = score_topics("Lumen Labs cuts Corvid-7 prices", ARTICLE, TOPICS)
    assert [t.slug for t in topics] == ["inference-economics"]
    assert 0.3 <= topics[0].score <= 1.0


def test_build_card_survives_an_empty_article():
    card = build_card("Only a title here", "", TOPICS)
    assert card.title == "Only a title here"
    assert card.key_takeaways == []


def test_extractive_summarizer_marks_the_card_extractive():
    settings = Settings(topics=TOPICS)
    story = StoryInput(story_id=1, title="Lumen Labs cuts Corvid-7 prices", text=ARTICLE)
    result = asyncio.run(ExtractiveSummarizer(settings).summarize(story))
    assert result.meta.mode == "extractive"
    assert result.meta.grounded_ratio == 1.0
    assert result.meta.model is None and result.records == []
