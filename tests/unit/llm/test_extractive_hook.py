"""The offline card: the hook is the article's lead, not the headline again; 1-3 implications."""

from __future__ import annotations

from aggregator.llm.extractive import build_card, echoes_title

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
    assert card.hook.startswith("We asked eleven companies")
    assert card.tldr.what_changed != card.hook
    assert not echoes_title(card.tldr.what_changed, TITLE)


def test_extractive_card_always_has_an_implication() -> None:
    # No forward-looking words anywhere: the best unused sentence stands in.
    card = build_card(TITLE, TEXT)
    assert 1 <= len(card.future_implications) <= 3
    point = card.future_implications[0]
    assert point.citations == [point.text] and point.text in TEXT


def test_extractive_title_only_article_still_builds() -> None:
    card = build_card("Short news", "Short news.")
    assert card.title == "Short news" and card.hook
