"""The second pass over a placed batch (regroup): late-founded stories, merges, explanations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from aggregator.dedupe.index import Doc, Match, Signature, StoryIndex, place
from aggregator.dedupe.regroup import Placed, regroup

START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
# A shares a few terms with B and a few with C, too few with either alone to join it; B and C
# share enough to be one story, whose centroid A matches.
WORDS = {
    "A": "alpha bravo charlie delta kilo lima",
    "B": "alpha bravo echo foxtrot golf mike",
    "C": "charlie delta echo foxtrot hotel india",
    "bg0": "oscar papa quebec romeo",
    "bg1": "sierra tango uniform victor",
    "bg2": "whiskey xray yankee zulu",
    "bg3": "mike november hotel",
}


def _sigs() -> dict[str, Signature]:
    sigs = {name: _sig(n + 1, words) for n, (name, words) in enumerate(WORDS.items())}
    sigs["A2"] = _sig(1, WORDS["A"])  # A's near-duplicate (the same MinHash)
    return sigs


def _sig(n: int, words: str) -> Signature:
    # Distinct MinHash values: no pair is a near-duplicate, only the terms decide.
    return Signature(np.full(64, n, dtype=np.uint32), dict.fromkeys(words.split(), 1.0))


def _run(order: list[str], hours: dict[str, float] | None = None) -> dict[str, tuple]:
    sigs = _sigs()
    index = StoryIndex()
    index.prime([sig for name, sig in sigs.items() if name in order])
    batch = []
    for n, name in enumerate(order):
        doc = Doc(n, name, "", START + timedelta(hours=(hours or {}).get(name, 0)))
        neighbours: dict[int, float] = {}
        match, _ = place(index, doc, sigs[name], n, neighbours=neighbours)
        batch.append(
            Placed(doc, sigs[name], n if match is None else match.story, match, neighbours)
        )
    final = regroup(index, batch, fixed=set())
    return {name: final[n] for n, name in enumerate(order)}


def test_pairs_alone_stay_below_the_threshold() -> None:
    # The premise of the tests below: A joins neither B nor C on its own.
    sigs = {name: _sig(n + 1, words) for n, (name, words) in enumerate(WORDS.items())}
    index = StoryIndex()
    index.prime(list(sigs.values()))
    assert index.cosine(sigs["A"], sigs["B"]) < index.event_threshold
    assert index.cosine(sigs["A"], sigs["C"]) < index.event_threshold
    assert index.cosine(sigs["B"], sigs["C"]) >= index.event_threshold


@pytest.mark.parametrize(
    "order", [["A", "B", "C"], ["B", "C", "A"], ["C", "A", "B"]], ids=["first", "last", "middle"]
)
def test_an_item_joins_a_story_founded_after_it(order: list[str]) -> None:
    final = _run([*order, "bg0", "bg1", "bg2", "bg3"])
    stories = {name: story for name, (story, _) in final.items()}
    assert stories["A"] == stories["B"] == stories["C"]
    assert len({stories[f"bg{n}"] for n in range(4)} | {stories["A"]}) == 5
    # Exactly one founder per story: the earliest member in arrival order.
    founders = [name for name, (_, match) in final.items() if match is None]
    assert sorted(founders) == sorted([order[0], "bg0", "bg1", "bg2", "bg3"])


def test_every_join_names_a_member_of_its_final_story() -> None:
    final = _run(["A", "B", "C", "bg0", "bg1", "bg2", "bg3"])
    ids = {name: n for n, name in enumerate(["A", "B", "C", "bg0", "bg1", "bg2", "bg3"])}
    for name, (story, match) in final.items():
        if match is None:
            continue
        assert isinstance(match, Match) and match.kind == "same-event"
        member = next(other for other, n in ids.items() if n == match.member)
        assert member != name and final[member][0] == story
        assert match.score >= StoryIndex().event_threshold


def test_a_story_out_of_the_window_is_not_joined() -> None:
    # The same texts, A five days after B and C: the window (4 days) keeps them apart.
    final = _run(["B", "C", "A", "bg0", "bg1", "bg2", "bg3"], hours={"A": 24 * 5})
    assert final["A"][1] is None and final["B"][0] == final["C"][0] != final["A"][0]


def test_a_near_duplicate_follows_the_item_it_matched() -> None:
    # A founds a story, A2 joins it as A's near-duplicate; the second pass moves A into the
    # story B founded, and A2 goes with it, its explanation naming its final story.
    final = _run(["A", "A2", "B", "C", "bg0", "bg1", "bg2", "bg3"])
    story, match = final["A2"]
    assert match is not None and match.kind == "near-duplicate" and match.member == 0
    assert story == final["A"][0] == final["B"][0] == match.story
    for story, match in final.values():
        assert match is None or match.story == story
