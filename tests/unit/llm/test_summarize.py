"""Pure parts of item -> card: prompt inputs within budget, schema limits, story rank."""

from __future__ import annotations

from aggregator.llm.prompts import load_prompt
from aggregator.settings import Topic
from aggregator.summarize.summarizer import (
    StoryInput,
    card_schema,
    prompt_variables,
    story_rank,
    topics_block,
)

TOPICS = [Topic(slug="robotics", name="Robotics", description="Robots and their software")]


def test_prompt_variables_cut_the_article_to_the_input_budget():
    text = "\n\n".join(f"Paragraph {i}. " + "filler " * 60 for i in range(40))
    story = StoryInput(story_id=1, title="A long one", text=text)
    prompt = load_prompt("summarize_item/v1")
    values = prompt_variables(prompt, story, TOPICS, 1000, "test-model")
    assert values["text"].startswith("Paragraph 0.")
    assert values["text"].endswith("filler")  # whole paragraphs only
    assert len(values["text"]) < len(text) / 4
    system, user = prompt.render(values)
    assert len(system + user) / 4 <= 1000


def test_topics_block_lists_slugs_with_descriptions():
    assert topics_block(TOPICS) == "  - robotics: Robotics (Robots and their software)"
    assert "[]" in topics_block([])


def test_card_schema_limits_topic_slugs_to_the_taxonomy():
    schema = card_schema(["robotics", "agents"])
    slug = schema["$defs"]["TopicScore"]["properties"]["slug"]
    assert slug["enum"] == ["agents", "robotics"]
    assert "enum" not in card_schema([])["$defs"]["TopicScore"]["properties"]["slug"]


def test_story_rank_orders_priority_engagement_coverage_and_recency():
    base = story_rank()
    assert story_rank(source_priority=50) > base
    assert story_rank(score=500, comments=80) > story_rank(score=5, comments=1) > base
    assert story_rank(source_count=4) > base
    assert story_rank(age_hours=72) < story_rank(age_hours=1)
