"""Sentences a card may publish: non-prose lines dropped, cuts marked, quotes closed."""

from __future__ import annotations

import pytest

from aggregator.llm.extractive import build_card
from aggregator.llm.segment import balanced, is_prose, is_whole, prose_text, shorten


@pytest.mark.parametrize(
    "line",
    [
        "Regulation | Ines Marlowe-Oduya | 4 December 2026, 10:00 UTC",
        "By Tomasz Wielgosz and Ama Serwaa",
        "Published 3 December 2026, 08:15 UTC",
        "Updated: Dec. 4, 2026 at 9:30 a.m. ET",
        "4 December 2026, 10:00 UTC",
        "Photo: Kestrel Imaging / Harbour Agency",
        "Share this story",
        "Subscribe to our weekly newsletter",
        "Read more",
        "Home · Policy · Regulation",
    ],
)
def test_non_prose_lines_are_recognised(line: str) -> None:
    assert not is_prose(line)


@pytest.mark.parametrize(
    "line",
    [
        "The regulator published draft rules on Tuesday, 4 December 2026, after a long delay.",
        "By cutting prices by 60%, Halvard forced its rivals to respond within a week.",
        "Share prices of the three chip makers rose after the announcement on Monday.",
        "It worked.",
    ],
)
def test_prose_lines_are_kept(line: str) -> None:
    assert is_prose(line)


def test_prose_text_drops_the_dateline_and_byline_but_keeps_paragraphs() -> None:
    text = (
        "Policy | Ama Serwaa | 2 May 2026\n\nBy Ama Serwaa\n\nThe rule passed.\n\nIt starts soon."
    )
    assert prose_text(text) == "The rule passed.\n\nIt starts soon."


def test_shorten_cuts_at_a_clause_and_marks_the_cut() -> None:
    sentence = "The company cut prices by 60% on Monday, and rivals followed within days, " * 3
    short = shorten(sentence, 120)
    assert len(short) <= 120 and short.endswith("…") and is_whole(short)
    assert sentence.startswith(short[:-1])
    assert sentence[len(short) - 1] == ","


def test_is_whole_and_balanced() -> None:
    assert is_whole('She said "yes."') and is_whole("It went on…") and not is_whole("to publish a")
    assert not balanced('"We will ship it, she said.') and balanced('"Yes," she said.')


def test_card_hook_is_never_a_dateline_or_a_cut_sentence() -> None:
    text = (
        "Regulation | Ines Marlowe-Oduya | 4 December 2026, 10:00 UTC\n\nBy Ines Marlowe-Oduya\n\n"
        "The agency fined Corbel Systems €2 million for hiding three outages from customers.\n\n"
        "Photo: Harbour Agency\n\n"
        "Dr. Pell said the fine was the largest so far, because the outages hit hospitals.\n\n"
        "Corbel will appeal the decision in the regional court next month."
    )
    card = build_card("Regulator fines Corbel", text)
    published = [card.hook, *card.tldr.model_dump().values()]
    published += [p.text for p in card.key_takeaways + card.future_implications]
    assert all(is_whole(s) for s in published)
    assert not any("|" in s or s.startswith(("By ", "Photo")) for s in published)
    assert "Dr. Pell said the fine" in card.tldr.why_it_matters  # not split at "Dr."


def test_shorten_closes_a_quotation_it_cuts() -> None:
    sentence = "She said: “We have no comment on the agreement, the licence, or the lawsuit, " * 4
    short = shorten(sentence + "”", 90)
    assert len(short) <= 90 and short.endswith("…”") and balanced(short)


def test_a_repeated_sentence_is_used_once() -> None:
    line = "Click here to get more information or download this game."
    assert not is_prose(line)
    text = "\n\n".join(["Portion containers hold one cup of greens for each meal."] * 3)
    card = build_card("Meal plan", text)
    parts = [card.hook, *card.tldr.model_dump().values()]
    assert len(set(parts)) == len(parts)
