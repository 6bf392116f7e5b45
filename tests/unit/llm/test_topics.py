"""Offline topics: calibrated on one half of the starter set, measured on the held-out half."""

from __future__ import annotations

import json

import pytest

from aggregator.evals.sets import bundled_set_path, load_set
from aggregator.llm.extractive import score_topics, terms
from aggregator.llm.topics import choose_topics, topic_evidence
from aggregator.settings import Topic


def _f1(predicted: set[str], wanted: set[str]) -> float:
    if not predicted and not wanted:
        return 1.0
    return 2 * len(predicted & wanted) / (len(predicted) + len(wanted))


@pytest.fixture(scope="module")
def starter():
    path = bundled_set_path()
    split = json.loads((path / "manifest.json").read_text(encoding="utf-8"))["topic_split"]
    evalset = load_set(path)
    return evalset, [Topic(**t) for t in evalset.topics], split


@pytest.mark.parametrize("half", ["calibration", "held_out"])
def test_topics_starter_halves_f1(starter, half: str) -> None:
    evalset, topics, split = starter
    cases = {c.id: c for c in evalset.cases}
    scores = []
    for case_id in split[half]:
        case = cases[case_id]
        got = {t.slug for t in score_topics(case.title, case.text, topics)}
        scores.append(_f1(got, set(case.expected_topics or [])))
    assert len(scores) >= 8
    assert sum(scores) / len(scores) >= 0.85, scores


def test_topics_none_fits_when_the_taxonomy_is_not_about_the_article(starter) -> None:
    evalset, topics, _ = starter
    unlabelled = [c for c in evalset.cases if not c.expected_topics]
    assert unlabelled
    for case in unlabelled:
        assert score_topics(case.title, case.text, topics) == []


def test_topics_second_topic_needs_a_share_of_the_best_evidence() -> None:
    evidence = {"a": 4.0, "b": 1.7, "c": 1.5}
    assert [t.slug for t in choose_topics(evidence)] == ["a", "b"]
    assert choose_topics({"a": 1.0, "b": 0.9}) == []  # too little evidence: none fits
    scores = [t.score for t in choose_topics(evidence)]
    assert scores == sorted(scores, reverse=True) and all(0 < s < 1 for s in scores)


def test_topics_shared_generic_words_weigh_less() -> None:
    topics = [
        Topic(
            slug="chips", name="Chips", description="accelerators and memory", keywords=["model"]
        ),
        Topic(slug="models", name="Models", description="language models", keywords=["model"]),
    ]
    text = "The accelerator has more memory. The accelerator ships with a model compiler."
    evidence = topic_evidence("New accelerator", text, topics, terms)
    assert evidence["chips"] > evidence["models"]
    alone = topic_evidence("New accelerator", text, topics[1:], terms)["models"]
    assert evidence["models"] < alone  # "model" counts less when another topic uses it too


def test_topics_short_texts_need_less_evidence_but_some() -> None:
    from aggregator.llm.topics import MIN_EVIDENCE, evidence_needed

    assert evidence_needed(400) == evidence_needed(200) == MIN_EVIDENCE
    assert 0.3 <= evidence_needed(40) < MIN_EVIDENCE / 2
    assert evidence_needed(0) == 0.3
    topics = [Topic(slug="chips", name="Chips", description="accelerators", keywords=["GPU"])]
    assert score_topics("Weekly notes #12", "", topics) == []  # nothing to go on: none fits
    assert [
        t.slug for t in score_topics("GPU prices", "Accelerator and GPU rents fell.", topics)
    ] == ["chips"]
