"""Per-card metrics on hand-made cards whose right answers are known."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from aggregator.evals.metrics import METRICS_BY_NAME, score_card, topic_f1

ARTICLE = (
    "Kestrel Labs lowered the price of its Kestrel-2 API by 60 percent on Tuesday.\n\n"
    "Input tokens now cost $0.40 per million and output tokens $1.60 per million.\n\n"
    "“We moved most of our traffic to a batching scheduler,” she said — and passed it on.\n\n"
    "Analysts expect smaller providers to struggle to match the cut."
)
REAL = [
    "lowered the price of its Kestrel-2 API by 60 percent",
    "Input tokens now cost $0.40 per million",
    "Analysts expect smaller providers to struggle",
    "output tokens $1.60 per million",
]
INVENTED = [
    "the company doubled its research staff in March",
    "prices will rise again next year according to insiders",
    "regulators opened an inquiry into the pricing decision",
    "the cut applies only to customers in North America",
]


def point(text: str, *citations: str) -> dict[str, Any]:
    return {"text": text, "citations": list(citations)}


def make_card(takeaway_citations: list[list[str]], future: list[list[str]] | None = None,
              **fields: Any) -> dict[str, Any]:  # fmt: skip
    """Return a well-formed card whose points carry the given citations."""
    future = future if future is not None else [[REAL[3]]]
    card = {
        "title": "Kestrel Labs cuts API prices by 60 percent",
        "hook": "The third price cut in a year makes long documents much cheaper to process.",
        "tldr": {"what_changed": "Prices fell 60 percent.", "why_it_matters": "Cheaper context.",
                 "what_to_do_next": "Re-check your monthly budget."},
        "key_takeaways": [point(f"Takeaway {i}", *c) for i, c in enumerate(takeaway_citations)],
        "technical_deep_dive": [],
        "future_implications": [point(f"Future {i}", *c) for i, c in enumerate(future)],
        "topics": [{"slug": "foundation-models", "score": 0.9}],
        "entities": ["Kestrel Labs"],
        "timeliness": "time-bound",
    }  # fmt: skip
    card.update(fields)
    return card


def test_metrics_perfect_card_scores_one_everywhere() -> None:
    card = make_card([[REAL[0]], [REAL[1]], [REAL[2]]])
    scores = score_card(card, ARTICLE, ["foundation-models"])
    for name in ("schema_valid", "length_ok", "citation_rate", "claim_support", "topic_f1",
                 "sections_clean"):  # fmt: skip
        assert scores[name] == 1.0, name
    assert scores["details"]["citations"] == 4 and scores["details"]["verified"] == 4


def test_metrics_half_invented_citations_score_half() -> None:
    # Four points, one citation each: two real, two invented.
    card = make_card([[REAL[0]], [INVENTED[0]], [REAL[1]]], future=[[INVENTED[1]]])
    scores = score_card(card, ARTICLE)
    assert scores["citation_rate"] == 0.5
    assert scores["claim_support"] == 0.5


def test_metrics_point_with_one_real_citation_is_supported() -> None:
    card = make_card([[REAL[0], INVENTED[0]], [INVENTED[1], INVENTED[2]], [REAL[1]]],
                     future=[[INVENTED[3]]])  # fmt: skip
    scores = score_card(card, ARTICLE)
    assert scores["citation_rate"] == pytest.approx(2 / 6)
    assert scores["claim_support"] == pytest.approx(2 / 4)


def test_metrics_quotes_match_after_normalising_quotes_dashes_and_spaces() -> None:
    quotes = ['"We moved most of our traffic to a batching scheduler," she said - and passed it on',
              "Input   tokens now\ncost $0.40 per million", REAL[2]]  # fmt: skip
    card = make_card([[q] for q in quotes])
    assert score_card(card, ARTICLE)["citation_rate"] == 1.0


def test_metrics_card_without_citations_is_ungrounded() -> None:
    card = make_card([[], [], []], future=[[]])
    scores = score_card(card, ARTICLE)
    assert scores["citation_rate"] == 0.0 and scores["claim_support"] == 0.0


def test_metrics_long_title_breaks_schema_and_length() -> None:
    card = make_card([[REAL[0]], [REAL[1]], [REAL[2]]], title="x" * 101)
    scores = score_card(card, ARTICLE)
    assert scores["schema_valid"] == 0.0 and scores["length_ok"] == 0.0
    assert scores["details"]["problems"] == ["title > 100"]


def test_metrics_too_few_takeaways_keeps_schema_but_breaks_length() -> None:
    card = make_card([[REAL[0]], [REAL[1]]])
    scores = score_card(card, ARTICLE)
    assert scores["schema_valid"] == 1.0
    assert scores["length_ok"] == 0.0
    assert "key_takeaways: 2 points, want 3-5" in scores["details"]["problems"]


def test_metrics_malformed_card_is_invalid_without_crashing() -> None:
    card = {"title": 5, "key_takeaways": "not a list", "tldr": None, "topics": [{"slug": 3}]}
    scores = score_card(card, ARTICLE, ["policy"])
    assert scores["schema_valid"] == 0.0 and scores["length_ok"] == 0.0
    assert scores["sections_clean"] == 0.0 and scores["topic_f1"] == 0.0


def test_metrics_duplicate_and_empty_parts_are_found() -> None:
    card = make_card([[REAL[0]], [REAL[1]], [REAL[2]]])
    card["key_takeaways"][1]["text"] = "takeaway 0."  # same as the first, up to case and dot
    card["hook"] = "  "
    scores = score_card(card, ARTICLE)
    assert scores["sections_clean"] == 0.0
    assert scores["details"]["issues"] == ["empty hook", "duplicate key_takeaways[1]"]
    repeated = make_card([[REAL[0]], [REAL[1]], [REAL[2]]])
    repeated["tldr"]["why_it_matters"] = repeated["tldr"]["what_changed"]
    assert score_card(repeated, ARTICLE)["details"]["issues"] == ["duplicate tldr.why_it_matters"]


def test_metrics_missing_card_fails_everything() -> None:
    scores = score_card(None, ARTICLE, ["policy"])
    assert [scores[k] for k in ("schema_valid", "length_ok", "citation_rate", "claim_support",
                                "topic_f1", "sections_clean")] == [0.0] * 6  # fmt: skip
    assert score_card(None, ARTICLE)["topic_f1"] is None


@pytest.mark.parametrize(
    ("topics", "labels", "expected"),
    [
        ([("a", 0.9), ("b", 0.8)], ["a"], 2 / 3),
        ([("a", 0.9), ("b", 0.1)], ["a"], 1.0),  # a guess below 0.3 is not a prediction
        ([], [], 1.0),
        ([("a", 0.9)], [], 0.0),
        ([("c", 0.9)], ["a", "b"], 0.0),
        ([("a", 0.9)], None, None),
    ],
)
def test_metrics_topic_f1(topics: list[tuple[str, float]], labels: list[str] | None,
                          expected: float | None) -> None:  # fmt: skip
    card = {"topics": [{"slug": s, "score": v} for s, v in topics]}
    assert topic_f1(card, labels) == (pytest.approx(expected) if expected is not None else None)


def test_metrics_pass_thresholds() -> None:
    assert METRICS_BY_NAME["schema_valid"].passed(1.0) is True
    assert METRICS_BY_NAME["schema_valid"].passed(0.0) is False
    assert METRICS_BY_NAME["citation_rate"].passed(0.8) is True
    assert METRICS_BY_NAME["citation_rate"].passed(0.79) is False
    assert METRICS_BY_NAME["topic_f1"].passed(None) is None


def test_metrics_do_not_modify_the_card() -> None:
    card = make_card([[REAL[0]], [REAL[1]], [REAL[2]]])
    before = copy.deepcopy(card)
    score_card(card, ARTICLE, ["foundation-models"])
    assert card == before


def test_part_metrics_words_completeness_distinctness_and_claims() -> None:
    from aggregator.evals.metrics import part_metrics

    article = "Halvard cut prices by 60% on Monday. The cut applies to every customer."
    card = {
        "hook": "Halvard cut prices.",
        "tldr": {"what_changed": "Halvard cut prices by 60%.", "why_it_matters": "It is cheaper.",
                 "what_to_do_next": ""},
        "key_takeaways": [
            {"text": "Prices fell by 60% for every customer on Monday.",
             "citations": ["Halvard cut prices by 60% on Monday."]},
            {"text": "Prices fell by 70%.", "citations": ["Halvard cut prices by 60% on Monday."]},
        ],
    }  # fmt: skip
    got = part_metrics(card, article)
    assert got["tldr_complete"] == 1.0 and got["parts_distinct"] == 1.0
    assert got["claims_checked"] == 0.5  # the 70% point is not in its sentence
    assert got["tldr_words"] == (5 + 3) / 2 and got["point_words"] == (9 + 4) / 2
    card["tldr"]["why_it_matters"] = "Halvard cut prices by 60%."
    assert part_metrics(card, article)["parts_distinct"] == 0.0
