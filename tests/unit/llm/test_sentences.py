"""Sentence-number citations (prompt v2): numbering, resolution to verbatim text, grounding."""

from __future__ import annotations

from pathlib import Path

import pytest

from aggregator.llm.prompts import PromptError, load_prompt
from aggregator.llm.sentences import (
    IdCardDraft,
    number_sentences,
    quoted_draft,
    resolve_ids,
)
from aggregator.llm.tokens import truncate_to_tokens
from aggregator.settings import Topic
from aggregator.summarize.grounding import ground_card
from aggregator.summarize.summarizer import StoryInput, card_schema, draft_model, prompt_variables

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "llm"
ARTICLE = (FIXTURES / "article_inference_pricing.txt").read_text(encoding="utf-8")
TOPICS = [Topic(slug="inference-economics", name="Inference economics", description="Costs")]
V2 = load_prompt("summarize_item/v2")


def id_draft(takeaways: list[list[int]], implications: list[list[int]] | None = None) -> dict:
    """Return a v2 answer whose points cite the given sentence numbers."""

    def points(cites: list[list[int]]) -> list[dict]:
        return [{"text": f"Point {i}.", "cite": c} for i, c in enumerate(cites)]

    return {
        "title": "Lumen cuts prices", "hook": "Tokens got cheaper.",
        "tldr": {"what_changed": "Prices fell.", "why_it_matters": "Cheaper inference.",
                 "what_to_do_next": ""},
        "key_takeaways": points(takeaways), "technical_deep_dive": [],
        "future_implications": points(implications or [[10]]),
        "topics": [{"slug": "inference-economics", "score": 0.9}], "entities": ["Lumen Labs"],
        "timeliness": "time-bound",
    }  # fmt: skip


def test_number_sentences_numbers_each_sentence_and_keeps_paragraphs():
    first, second, third = (
        "The first one is here.",
        "The second one is here!",
        "A third one is here?",
    )
    numbered = number_sentences(f"{first} {second}\n\n{third}")
    assert numbered.text == f"[1] {first} [2] {second}\n\n[3] {third}"
    assert numbered.sentences == (first, second, third)


def test_number_sentences_joins_short_fragments_and_leaves_headings_unnumbered():
    numbered = number_sentences("Pricing\n\nThe company cut prices again. Yes.\n\nIt did.")
    assert numbered.sentences == ("The company cut prices again. Yes.",)
    assert numbered.text == "Pricing\n\n[1] The company cut prices again. Yes.\n\nIt did."


def test_number_sentences_truncation_keeps_numbers_pointing_at_their_sentences():
    numbered = number_sentences(ARTICLE)
    cut, was_cut = truncate_to_tokens(numbered.text, 80, "test-model")
    assert was_cut and cut.startswith("[1] ")
    for n, sentence in enumerate(numbered.sentences, start=1):
        if f"[{n}] " in cut:
            assert f"[{n}] {sentence}" in cut


def test_prompt_citation_style_is_read_from_the_file(tmp_path: Path):
    assert load_prompt("summarize_item/v1").citations == "quotes"
    assert V2.citations == "sentence_ids"
    assert draft_model(V2) is IdCardDraft
    (tmp_path / "demo").mkdir()
    (tmp_path / "demo" / "v1.toml").write_text(
        'citations = "footnotes"\nsystem = "s"\nprompt = "p"'
    )
    with pytest.raises(PromptError, match="citations"):
        load_prompt("demo/v1", root=tmp_path)


def test_prompt_v2_renders_every_variable_with_a_numbered_article():
    story = StoryInput(story_id=1, title="Lumen Labs cuts prices", text=ARTICLE)
    values = prompt_variables(V2, story, TOPICS, 6000, "test-model")
    assert set(values) == V2.variables() - {"boundary"}
    system, user = V2.render(values)
    assert not any(f"${name}" in system + user for name in V2.variables())
    assert "inference-economics: Inference economics" in system
    assert "Title: Lumen Labs cuts prices" in user
    assert "[1] Lumen Labs cut the price of its hosted Corvid-7 model" in user
    assert "[10] Lumen also said it will publish the scheduler" in user


def test_card_schema_v2_asks_for_sentence_numbers():
    schema = card_schema(["inference-economics"], IdCardDraft)
    point = schema["$defs"]["IdPointDraft"]
    assert point["properties"]["cite"]["items"] == {"type": "integer"}
    assert point["required"] == ["text", "cite"] and point["additionalProperties"] is False


def test_resolve_ids_turns_numbers_into_the_verbatim_sentences():
    numbered = number_sentences(ARTICLE)
    draft = IdCardDraft.model_validate(id_draft([[1], [2, 5], [4]]))
    grounded = ground_card(resolve_ids(draft, numbered), ARTICLE, {"inference-economics"})
    first, second, _ = grounded.card.key_takeaways
    assert first.citations == [numbered.sentences[0]]
    assert second.citations == [numbered.sentences[1], numbered.sentences[4]]
    assert second.citations[0].startswith("The company said input tokens now cost $0.20")
    for point in grounded.card.key_takeaways + grounded.card.future_implications:
        assert all(quote in " ".join(ARTICLE.split()) for quote in point.citations)
    assert grounded.grounded_ratio == 1.0 and grounded.verified == 5


def test_resolve_ids_drops_out_of_range_numbers_and_unpublishes_uncited_points():
    numbered = number_sentences(ARTICLE)
    # 11 and 0 name no sentence (the article has 10); the second point has nothing else.
    draft = IdCardDraft.model_validate(id_draft([[1, 11], [0, 99], [3]], [[7]]))
    grounded = ground_card(resolve_ids(draft, numbered), ARTICLE, set())
    texts = [p.text for p in grounded.card.key_takeaways]
    assert texts == ["Point 0.", "Point 2."]  # "Point 1." cited no real sentence
    assert grounded.card.key_takeaways[0].citations == [numbered.sentences[0]]
    assert grounded.dropped_points == 1
    assert (grounded.verified, grounded.total) == (3, 6)
    assert grounded.grounded_ratio == 0.5


def test_resolve_ids_cuts_a_long_sentence_to_a_verbatim_prefix():
    long = "The scheduler " + " ".join(f"step{i}" for i in range(120)) + "."
    numbered = number_sentences(long)
    quote = resolve_ids(IdCardDraft.model_validate(id_draft([[1]] * 3, [[1]])), numbered)
    cited = quote.key_takeaways[0].citations[0]
    assert len(cited) <= 300 and long.startswith(cited)


def test_quoted_draft_resolves_numbers_and_leaves_quote_drafts_alone():
    quotes = {"key_takeaways": [{"text": "a", "citations": ["x"]}]}
    assert quoted_draft(quotes, ARTICLE) is quotes
    resolved = quoted_draft(id_draft([[1], [2], [99]]), ARTICLE)
    cited = [p["citations"] for p in resolved["key_takeaways"]]
    assert cited[0] == [number_sentences(ARTICLE).sentences[0]]
    assert "99" in cited[2][0] and cited[2][0] not in ARTICLE


def test_every_numbered_sentence_passes_grounding_even_inside_quote_marks():
    text = '"We shipped it," she said.\n\n"Fine." Prices fell again today.\n\nOK.'
    numbered = number_sentences(text)
    assert numbered.sentences == ('"We shipped it," she said.', '"Fine." Prices fell again today.')
    assert all(sentence in text for sentence in numbered.sentences)
    draft = IdCardDraft.model_validate(id_draft([[1], [2], [1, 2]], [[2]]))
    assert ground_card(resolve_ids(draft, numbered), text, set()).grounded_ratio == 1.0


def test_number_sentences_treats_each_line_of_a_list_as_a_sentence():
    numbered = number_sentences(
        "What we changed:\n- the scheduler now batches requests\n- the cache keeps prefixes"
    )
    assert numbered.sentences == (
        "What we changed: - the scheduler now batches requests",
        "- the cache keeps prefixes",
    )
