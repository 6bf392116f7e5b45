"""Kind, timeliness and typed entities on small original texts."""

from __future__ import annotations

from aggregator.llm.schema import Card
from aggregator.summarize.annotate import annotate
from aggregator.summarize.classify import classify
from aggregator.summarize.entities import find_entities

NEWS = (
    "OSLO (Reuters) - Fjordline Robotics said on Tuesday it had raised 40 million to expand its "
    "warehouse arms, the company announced in a statement. Chief executive Mari Haugen said "
    "the money would fund two factories. Haugen told reporters that orders doubled this year."
)
HOWTO = (
    "You can cut your cloud bill without touching the model.\n\n"
    "Start with the logs. Check which prompts repeat, and keep a cache for them.\n\n"
    "Use batching for offline jobs. Set a budget per team, and remember that your largest "
    "costs usually come from a few long prompts. Try smaller models on easy requests first."
)


def test_classify_dated_report_is_time_bound_news() -> None:
    verdict = classify("Fjordline Robotics raises 40 million", NEWS)
    assert (verdict.timeliness, verdict.kind) == ("time-bound", "news")
    assert "dateline" in verdict.signals


def test_classify_how_to_steps_are_evergreen() -> None:
    verdict = classify("How to halve your inference bill", HOWTO)
    assert (verdict.timeliness, verdict.kind) == ("evergreen", "howto")


def test_classify_model_answer_is_one_strong_vote_and_flairs_name_the_kind() -> None:
    assert classify("Notes", "A short note.", llm_timeliness="time-bound").timeliness == (
        "time-bound"
    )
    assert classify("[D] Is int4 good enough?", "Asking the forum.").kind == "discussion"
    assert classify("Opinion: stop", HOWTO, "https://x.example/opinion/stop").kind == "opinion"


def test_entities_are_typed_merged_and_free_of_junk() -> None:
    text = (
        "There was a long queue at 09:00 UTC. Every engineer at Kestrel Labs Inc. watched the "
        "launch. Dr. Ada Varga said the new Kestrel-3 model was ready. Nobody expected it. "
        "Half of the users moved. Price cuts followed. Between 14 and 20 teams in Lisbon "
        "tested Kestrel-3, and Varga said Kestrel Labs Inc. would open an office in Lisbon."
    )
    entities = {e.name: e.type for e in find_entities("Kestrel-3 arrives", text)}
    assert entities["Ada Varga"] == "person" and "Varga" not in entities  # alias merged
    assert entities["Kestrel Labs Inc"] == "org"
    assert entities["Kestrel-3"] == "product" and entities["Lisbon"] == "place"
    junk = {"There", "Dr", "UTC", "Every", "Nobody", "Half", "Between 14", "Price", "14"}
    assert not junk & set(entities)


def test_annotate_sets_kind_timeliness_and_typed_entities_offline() -> None:
    card = Card(title="t", hook="h", tldr={"what_changed": "a", "why_it_matters": "b"},
                entities=["There"], timeliness="time-bound")  # fmt: skip
    out = annotate(card, "How to halve your inference bill", HOWTO, None, "extractive")
    assert out.kind == "howto" and out.timeliness == "evergreen"
    assert out.entities == [e.name for e in out.typed_entities] and "There" not in out.entities
