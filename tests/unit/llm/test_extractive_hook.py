"""The offline card: the hook is the article's lead, not the headline again; 1-3 implications."""

from __future__ import annotations

import pytest

from aggregator.llm.extractive import build_card, echoes_title
from aggregator.llm.roles import NO_REASON, TOO_SHORT_HOOK

TITLE = "Benchmarks are marketing now. Here is what buyers test instead"
TEXT = "\n\n".join(
    [
        "Benchmarks are marketing now.",
        "Here is what buyers test instead.",
        "We asked eleven companies that spend at least fifty thousand dollars a month on model APIs "
        "how they made their most recent choice.",
        "Not one of them chose primarily on public benchmark scores, and most ran their own tests.",
        "The first test is latency under load, which decides whether a model is usable at all.",
        "Most internal test sets were built from production logs with personal data removed.",
    ]
)


def test_echoes_title_spots_the_headline_and_its_pieces() -> None:
    assert echoes_title("Here is what buyers test instead.", TITLE)
    assert echoes_title(TITLE, TITLE)
    assert not echoes_title("Not one of them chose primarily on public benchmark scores.", TITLE)


def test_extractive_hook_and_tldr_do_not_repeat_the_title() -> None:
    card = build_card(TITLE, TEXT)
    assert not echoes_title(card.hook, TITLE)
    parts = [card.hook, card.tldr.what_changed, card.tldr.why_it_matters]
    assert len(set(parts)) == 3
    assert not echoes_title(card.tldr.what_changed, TITLE)


def test_extractive_card_leaves_implications_empty_without_forward_looking_sentences() -> None:
    # A current fact is not an implication: with nothing forward-looking, none is invented.
    card = build_card(TITLE, TEXT)
    assert card.future_implications == []


def test_extractive_title_only_article_says_so_instead_of_repeating_the_title() -> None:
    card = build_card("Short news", "Short news.")
    assert card.title == "Short news" and card.tldr.what_changed == "Short news."
    parts = [card.hook, *card.tldr.model_dump().values()]
    assert len(set(parts)) == 4 and "headline" in card.hook and card.key_takeaways == []


SHORT = [
    "Lumen Labs cut the price of its hosted model by sixty percent.",
    "The company said tokens are cheaper now for everyone.",
    "Rivals charge more for similar open models today.",
    "Analysts expect rivals to follow with cuts of their own next quarter.",
    "The scheduler groups requests of similar length together.",
]


@pytest.mark.parametrize("count", [4, 5])
def test_extractive_short_article_keeps_its_forward_sentence_for_the_implication(
    count: int,
) -> None:
    card = build_card("Lumen cuts prices", " ".join(SHORT[:count]))
    assert [p.text for p in card.future_implications] == [SHORT[3]]
    texts = [p.text for p in card.key_takeaways + card.technical_deep_dive]
    assert SHORT[3] not in texts  # a sentence of its own, no repeat
    assert len(card.key_takeaways) == 3


def test_extractive_hook_skips_a_reworded_headline_and_never_repeats_a_part() -> None:
    lead = "Buyers now run " + " ".join(f"test{i} on workload{i}," for i in range(15)) + " daily."
    text = "Benchmarks are marketing now, so here is what buyers test instead.\n\n" + lead
    card = build_card(TITLE, text)
    assert card.tldr.what_changed == lead
    # One usable sentence: the hook and the reason say so instead of repeating it.
    assert card.hook == TOO_SHORT_HOOK and card.tldr.why_it_matters == NO_REASON
