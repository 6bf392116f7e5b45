"""Role metrics: a labelled role must come from its sentence, a null one must stay empty."""

from __future__ import annotations

from aggregator.evals.metrics import carries, role_metrics, score_card
from aggregator.llm.roles import NO_NEXT_STEP

EXPECTED = {
    "what_changed": "cut the price of its API by 40%",
    "why_it_matters": "which means long documents cost less to process",
    "what_to_do_next": None,
    "future": "plans to open a second region next year",
}


def card(next_step: str = NO_NEXT_STEP, future: tuple[str, ...] = ()) -> dict:
    return {
        "tldr": {
            "what_changed": "Halvard cut the price of its API by 40% on Monday.",
            "why_it_matters": "Prices matter to buyers.",
            "what_to_do_next": next_step,
        },
        "future_implications": [{"text": t, "citations": []} for t in future],
    }


def test_a_paraphrase_carries_the_labelled_sentence_but_another_sentence_does_not() -> None:
    assert carries("Halvard's API now costs 40% less after a price cut.", EXPECTED["what_changed"])
    assert not carries("Halvard opened an office in Lisbon.", EXPECTED["what_changed"])


def test_each_role_is_scored_and_the_mean_is_role_match() -> None:
    got = role_metrics(card(future=("Halvard plans to open a second region next year.",)), EXPECTED)
    assert got["role_what_changed"] == 1.0
    assert got["role_why_it_matters"] == 0.0  # a different sentence, not the reason
    assert got["role_what_to_do_next"] == 1.0  # none stated, and the card says so
    assert got["role_future"] == 1.0
    assert got["role_match"] == 0.75


def test_an_invented_next_step_or_implication_fails_a_role_labelled_none() -> None:
    expected = {**EXPECTED, "future": None}
    got = role_metrics(card("Try it today.", ("Prices will fall further.",)), expected)
    assert got["role_what_to_do_next"] == 0.0 and got["role_future"] == 0.0


def test_cases_without_role_labels_are_not_scored_and_a_missing_card_fails_them() -> None:
    assert role_metrics(card(), None)["role_match"] is None
    assert score_card(card(), "text")["role_match"] is None
    missing = score_card(None, "text", None, EXPECTED)
    assert missing["role_match"] == 0.0 and missing["role_future"] == 0.0


def test_next_step_stated_counts_a_real_step_not_the_none_sentence() -> None:
    assert score_card(card("Try it today."), "text")["next_step_stated"] == 1.0
    assert score_card(card(), "text")["next_step_stated"] == 0.0
