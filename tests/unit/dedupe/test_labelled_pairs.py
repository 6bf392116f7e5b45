"""Thresholds measured on labelled pairs: duplicates, same-event rewrites, different events.

Run with -s to see the precision/recall table; the asserts pin the floors.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from aggregator.dedupe import group_documents
from aggregator.dedupe.index import EVENT_THRESHOLD, Doc, Signature, StoryIndex, jaccard, signature

FIXTURE = Path(__file__).parents[2] / "fixtures" / "dedupe" / "labelled_clusters.json"
START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
NEAR_THRESHOLD = 0.5  # the default [dedupe] near_duplicate_threshold


@dataclass
class Pair:
    label: str  # "duplicate" | "same_event" | "different_event"
    near: float
    cosine: float
    hours_apart: float


def _pairs() -> list[Pair]:
    data = json.loads(FIXTURE.read_text(encoding="utf-8"))
    docs = [(n, doc) for n, cluster in enumerate(data["clusters"]) for doc in cluster["docs"]]
    index = StoryIndex()
    sigs: list[Signature] = []
    # Every document is indexed first: IDF then reflects a realistic window of stories.
    for key, (_, doc) in enumerate(docs):
        sigs.append(signature(doc["title"], doc["text"]))
        when = START + timedelta(hours=doc["hours"])
        index.add(key, Doc(key, doc["title"], doc["text"], when), sigs[-1])
    out = []
    for (i, (ca, a)), (j, (cb, b)) in itertools.combinations(enumerate(docs), 2):
        kinds = {a["kind"], b["kind"]}
        label = (
            "duplicate"
            if ca == cb and kinds == {"original", "duplicate"}
            else "same_event"
            if ca == cb
            else "different_event"
        )
        out.append(
            Pair(
                label,
                jaccard(sigs[i], sigs[j]),
                index.cosine(sigs[i], sigs[j]),
                abs(a["hours"] - b["hours"]),
            )
        )
    return out


PAIRS = _pairs()


def _margin(pair: Pair) -> float:
    """Return how far a pair clears the stage's bar (negative: below it): near-duplicate
    Jaccard, or cosine against the same-event threshold for their distance in time."""
    threshold = StoryIndex().threshold_at(timedelta(hours=pair.hours_apart))
    return max(pair.near - NEAR_THRESHOLD, pair.cosine - threshold)


def _joins(pair: Pair, window_hours: float = 4 * 24) -> bool:
    """Return the stage's decision: same story when near-duplicate or same event in the window."""
    return pair.hours_apart <= window_hours and _margin(pair) >= 0


def _precision_recall(predicted: list[bool], actual: list[bool]) -> tuple[float, float]:
    tp = sum(p and a for p, a in zip(predicted, actual, strict=True))
    fp = sum(p and not a for p, a in zip(predicted, actual, strict=True))
    fn = sum(a and not p for p, a in zip(predicted, actual, strict=True))
    return tp / max(1, tp + fp), tp / max(1, tp + fn)


def test_labelled_pairs_fixture_has_every_label() -> None:
    counts = {
        label: sum(p.label == label for p in PAIRS)
        for label in ("duplicate", "same_event", "different_event")
    }
    assert counts["duplicate"] >= 3 and counts["same_event"] >= 12
    assert counts["different_event"] >= 100


def test_labelled_pairs_near_duplicate_threshold() -> None:
    predicted = [p.near >= NEAR_THRESHOLD for p in PAIRS]
    actual = [p.label == "duplicate" for p in PAIRS]
    precision, recall = _precision_recall(predicted, actual)
    print(
        f"\nnear-duplicate (Jaccard >= {NEAR_THRESHOLD}): precision {precision:.2f} recall {recall:.2f}"
    )
    assert precision == 1.0 and recall >= 0.66


def test_labelled_pairs_story_decision_precision_recall() -> None:
    actual = [p.label != "different_event" for p in PAIRS]
    print(f"\n{'event threshold':>16} {'precision':>9} {'recall':>6}")
    for threshold in sorted({0.2, 0.25, 0.3, EVENT_THRESHOLD, 0.4, 0.5}):
        predicted = [
            p.hours_apart <= 96 and (p.near >= NEAR_THRESHOLD or p.cosine >= threshold)
            for p in PAIRS
        ]
        precision, recall = _precision_recall(predicted, actual)
        mark = "  <- used" if threshold == EVENT_THRESHOLD else ""
        print(f"{threshold:>16.2f} {precision:>9.2f} {recall:>6.2f}{mark}")
    precision, recall = _precision_recall([_joins(p) for p in PAIRS], actual)
    assert precision >= 0.95
    assert recall >= 0.85


def test_labelled_pairs_window_keeps_a_later_event_apart() -> None:
    # The license change six weeks after the launch shares words with it but is a new story.
    later = [p for p in PAIRS if p.label == "same_event" and p.hours_apart > 24 * 30]
    assert not later  # rewrites of one event are close in time
    far = [p for p in PAIRS if p.label == "different_event" and p.hours_apart > 24 * 30]
    assert far and not any(_joins(p) for p in far)


@pytest.mark.parametrize("label", ["duplicate", "same_event"])
def test_labelled_pairs_same_story_scores_above_different_events(label: str) -> None:
    # Compared as margins over the bar: the same-event bar rises with the time between them.
    worst_same = min(_margin(p) for p in PAIRS if p.label == label)
    best_different = max(_margin(p) for p in PAIRS if p.label == "different_event")
    assert worst_same > best_different


def test_labelled_clusters_sequential_assignment_precision_recall() -> None:
    """Replay the documents in time order through StoryIndex, as the stage does."""
    data = json.loads(FIXTURE.read_text(encoding="utf-8"))
    docs = [(n, doc) for n, cluster in enumerate(data["clusters"]) for doc in cluster["docs"]]
    order = sorted(range(len(docs)), key=lambda i: docs[i][1]["hours"])
    print(
        f"\n{'event threshold':>16} {'precision':>9} {'recall':>6} stories (true {len(data['clusters'])})"
    )
    results = {}
    for threshold in sorted({0.25, 0.3, EVENT_THRESHOLD, 0.4, 0.45}):
        index, story = StoryIndex(event_threshold=threshold), {}
        for i in order:
            raw = docs[i][1]
            doc = Doc(i, raw["title"], raw["text"], START + timedelta(hours=raw["hours"]))
            sig = signature(doc.title, doc.text)
            match = index.match(doc, sig)
            story[i] = match.story if match else i
            index.add(story[i], doc, sig if match is None or match.kind == "same-event" else None)
        pairs = list(itertools.combinations(range(len(docs)), 2))
        predicted = [story[i] == story[j] for i, j in pairs]
        actual = [docs[i][0] == docs[j][0] for i, j in pairs]
        results[threshold] = _precision_recall(predicted, actual)
        mark = "  <- used" if threshold == EVENT_THRESHOLD else ""
        print(
            f"{threshold:>16.2f} {results[threshold][0]:>9.2f} {results[threshold][1]:>6.2f} "
            f"{len(set(story.values())):>7}{mark}"
        )
    precision, recall = results[EVENT_THRESHOLD]
    # The follow-up "Independent tests question Quill-3 math scores" (a day after the launch,
    # same names) scores 0.40 against the launch story's centroid: it stays apart because the
    # threshold has risen to 0.5 after a day (EVENT_DECAY_SPAN), not because 0.3 is too low.
    assert precision >= 0.95 and recall >= 0.9


def test_labelled_clusters_group_documents_precision_recall() -> None:
    """The whole path (placement and the second pass over the batch), in time order and in
    reverse: the second pass must not undo what the time-decayed threshold keeps apart."""
    data = json.loads(FIXTURE.read_text(encoding="utf-8"))
    docs = [(n, doc) for n, cluster in enumerate(data["clusters"]) for doc in cluster["docs"]]
    rows = [
        {
            "id": i,
            "title": doc["title"],
            "text": doc["text"],
            "published_at": START + timedelta(hours=doc["hours"]),
        }
        for i, (_, doc) in enumerate(docs)
    ]
    pairs = list(itertools.combinations(range(len(docs)), 2))
    actual = [docs[i][0] == docs[j][0] for i, j in pairs]
    for order in (1, -1):
        ordered = sorted(rows, key=lambda r: r["published_at"])[::order]
        story = group_documents(ordered)
        predicted = [story[i] == story[j] for i, j in pairs]
        precision, recall = _precision_recall(predicted, actual)
        assert precision >= 0.95 and recall >= 0.9, (order, precision, recall)
