"""Reddit-shaped posts: the card comes from the post, comments only in "What the discussion adds"."""

from __future__ import annotations

import asyncio

from aggregator.publish.views import card_basis, thread_points
from aggregator.settings import Settings
from aggregator.summarize.basis import card_basis as basis_of
from aggregator.summarize.basis import is_deep
from aggregator.summarize.discussion import pick_discussion
from aggregator.summarize.summarizer import ExtractiveSummarizer, StoryInput

POST = "\n\n".join(
    [
        "We benchmarked the Quillon-9 tokenizer on a mixed corpus of Welsh and English forum posts "
        "collected over the last year by our small volunteer group.",
        "Welsh text needed 38% more tokens than English text of the same length in characters.",
        "The gap shrinks to 12% once the tokenizer is retrained on a balanced sample of both.",
        "Retraining took two evenings on one consumer graphics card and needed no new data.",
        "We will publish the balanced sample and the scripts next month under an open licence.",
    ]
    * 3
)
COMMENTS = [
    {"text": "Nice work, thanks for sharing!", "score": 900, "url": "https://r.example/c/1/"},
    {
        "text": "Actually the 38% figure is for NFD input; with NFC normalisation it is closer to 25%.",
        "score": 310,
        "url": "https://r.example/c/2/",
    },
    {"text": "Ran it on Breton too: 41% overhead before retraining.", "score": 120, "url": None},
]


def summarize(text: str, comments: list, method: str = "reddit-selftext") -> dict:
    story = StoryInput(1, "Welsh costs more tokens", text, method=method, comments=comments)
    result = asyncio.run(ExtractiveSummarizer(Settings()).summarize(story))
    return result.card.model_dump(mode="json")


def test_self_post_card_never_quotes_a_comment() -> None:
    card = summarize(POST, COMMENTS)
    published = [card["hook"], *card["tldr"].values()]
    points = card["key_takeaways"] + card["technical_deep_dive"] + card["future_implications"]
    published += [p["text"] for p in points] + [c for p in points for c in p["citations"]]
    for comment in COMMENTS:
        assert not any(comment["text"][:30] in s for s in published)


def test_discussion_keeps_comments_that_add_facts_with_their_links() -> None:
    card = summarize(POST, COMMENTS)
    found = card["discussion"]
    assert [p["score"] for p in found["points"]] == [310, 120]  # the thanks adds nothing
    assert found["points"][0]["comment_url"] == "https://r.example/c/2/"
    assert found["points"][0]["quote"] == COMMENTS[1]["text"]  # verbatim
    assert found["disputes"] is True  # "Actually ..." corrects the post
    assert thread_points(card) == found


def test_no_discussion_when_comments_add_nothing() -> None:
    assert pick_discussion([{"text": "Great post!", "score": 5}], POST) is None
    assert pick_discussion("not a list", POST) is None


def test_basis_kinds_and_word_counts() -> None:
    assert basis_of("trafilatura", "word " * 300, "T").kind == "full_text"
    assert basis_of("feed", "word " * 80, "T").model_dump() == {"kind": "feed_excerpt", "words": 80}
    assert basis_of(None, "Same title", "Same title").kind == "title_only"
    assert not is_deep(basis_of("feed", "word " * 80, "T"))
    assert is_deep(basis_of("feed", "word " * 130, "T"))


def test_short_excerpt_card_is_tldr_only_and_says_so() -> None:
    excerpt = (
        "Harbourline Ventures led a $48 million round in Tessellate, a retrieval start-up. "
        "The company says it serves 140 enterprise customers. "
        "It will open a data centre in Porto next year."
    )
    card = summarize(excerpt, [], method="feed")
    assert card["basis"]["kind"] == "feed_excerpt" and card["basis"]["words"] < 120
    assert card["key_takeaways"] == card["future_implications"] == []
    assert all(card["tldr"].values())  # all three TL;DR parts still there
    assert "TL;DR only" in card_basis(card)["note"]
    assert f"({card['basis']['words']} words)" in card_basis(card)["note"]
