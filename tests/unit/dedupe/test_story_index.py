"""StoryIndex and story helpers: exact matches, windows, related stories, ids and slugs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from aggregator.clock import iso_week
from aggregator.dedupe.ids import rank, story_uid
from aggregator.dedupe.index import Doc, Signature, StoryIndex, minhash, signature, tokens
from aggregator.slugs import slugify

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
LAUNCH = (
    "Norvale releases Quill-3 open model",
    "Norvale released Quill-3, an open-weights model family with a 120B version that runs on "
    "one eight-GPU server and rivals closed systems on coding and math benchmarks.",
)
REWRITE = (
    "Quill-3 120B from Norvale fits on one server",
    "The 120B Quill-3 model from Norvale runs on a single eight-GPU machine; the open weights "
    "match closed models on math and coding benchmarks, Norvale says.",
)
OTHER = (
    "Harbor town keeps its night ferry",
    "Port Elwen council voted to keep the late ferry crossing for three more years after nurses "
    "and fish-plant workers spoke at the meeting.",
)


def doc(item_id: int, title: str, text: str, hours: float = 0, **extra: object) -> Doc:
    return Doc(item_id, title, text, T0 + timedelta(hours=hours), **extra)  # type: ignore[arg-type]


def indexed(*docs: Doc) -> StoryIndex:
    index = StoryIndex()
    for d in docs:
        index.add(d.item_id, d, signature(d.title, d.text))
    return index


def test_index_matches_same_canonical_url_or_hash_exactly() -> None:
    first = doc(1, *LAUNCH, canonical_url="https://n.example/quill3", content_hash="h1")
    index = indexed(first)
    by_url = index.match(
        doc(2, "Totally different", "words", canonical_url="https://n.example/quill3"), None
    )
    by_hash = index.match(doc(3, "Other", "text", content_hash="h1"), None)
    assert (by_url.story, by_url.kind) == (1, "url")
    assert (by_hash.story, by_hash.kind) == (1, "hash")


def test_index_same_event_rewrite_joins_and_other_news_does_not() -> None:
    index = indexed(doc(1, *LAUNCH), doc(5, *OTHER, hours=1))
    rewrite = doc(2, *REWRITE, hours=5)
    match = index.match(rewrite, signature(rewrite.title, rewrite.text))
    assert match is not None and match.story == 1 and match.kind == "same-event"
    unrelated = doc(
        3, "Stratus cuts GPU prices", "Stratus Cloud lowers on-demand prices by 35 percent."
    )
    assert index.match(unrelated, signature(unrelated.title, unrelated.text)) is None


def test_index_near_duplicate_is_found_through_lsh() -> None:
    index = indexed(doc(1, *LAUNCH))
    copy = doc(2, LAUNCH[0], LAUNCH[1] + " Reposted with permission.", hours=2)
    match = index.match(copy, signature(copy.title, copy.text))
    assert match is not None and match.kind == "near-duplicate" and match.score >= 0.5


def test_index_window_excludes_old_stories() -> None:
    index = indexed(doc(1, *LAUNCH))
    late = doc(2, *REWRITE, hours=24 * 5)  # window is 4 days
    assert index.match(late, signature(late.title, late.text)) is None
    index.window = timedelta(days=6)
    assert index.match(late, signature(late.title, late.text)) is not None


def test_index_window_follows_the_latest_item_of_a_story() -> None:
    index = indexed(doc(1, *LAUNCH))
    index.add(1, doc(9, "", "", hours=24 * 3), None)  # a later item joined story 1
    late = doc(2, *REWRITE, hours=24 * 6)
    assert index.match(late, signature(late.title, late.text)) is not None


def test_index_related_lists_earlier_similar_stories_only() -> None:
    earlier = doc(1, *LAUNCH, topics=frozenset({"models"}))
    index = indexed(earlier, doc(2, *OTHER))
    follow_up = doc(
        3,
        "Quill-3 math scores questioned",
        "Independent testers could not reproduce the Quill-3 120B math results Norvale "
        "reported for its open model on coding and math benchmarks.",
        hours=30,
        topics=frozenset({"models"}),
    )
    related = index.related(follow_up, signature(follow_up.title, follow_up.text))
    assert [story for story, _ in related] == [1]
    future = indexed(doc(7, *LAUNCH, hours=100))
    assert future.related(follow_up, signature(follow_up.title, follow_up.text)) == []


def test_index_related_respects_max_related() -> None:
    index = StoryIndex(max_related=2)
    for i in range(5):
        d = doc(i, f"{LAUNCH[0]} part {i}", LAUNCH[1], hours=i)
        index.add(i, d, signature(d.title, d.text))
    probe = doc(99, *REWRITE, hours=10)
    assert len(index.related(probe, signature(probe.title, probe.text))) == 2


def test_signature_roundtrip_and_stability() -> None:
    sig = signature(*LAUNCH)
    again = Signature.from_json(sig.to_json())
    assert np.array_equal(sig.minhash, again.minhash) and sig.keywords == again.keywords
    # Fixed constants: the same text always gives the same values (stored signatures stay valid).
    assert minhash(tokens("a b c d e")).tolist() == minhash(tokens("A b c d e")).tolist()
    assert len(sig.to_json()["mh"]) == 64
    # A long text keeps where its terms occur (its parts), and a stored signature keeps them;
    # one stored before parts existed reads as not cut.
    long = signature(LAUNCH[0], "\n\n".join([LAUNCH[1]] * 12))
    assert long.parts and Signature.from_json(long.to_json()).parts == long.parts
    old = long.to_json()
    del old["pt"]
    assert Signature.from_json(old).parts == b""


def test_rank_prefers_priority_then_engagement_then_earliest() -> None:
    early, late = T0, T0 + timedelta(hours=1)
    assert rank(5, {}, late, 2) < rank(0, {"score": 900}, early, 1)
    assert rank(0, {"score": 10, "comments": 5}, late, 2) < rank(0, {"score": 3}, early, 1)
    assert rank(0, None, early, 2) < rank(0, {}, late, 1)


def test_story_uid_slug_and_week() -> None:
    uid = story_uid("3:abc")
    assert len(uid) == 12 and int(uid, 16) >= 0
    assert uid == story_uid("3:abc") and uid != story_uid("3:abc", attempt=1)
    assert slugify("Ünïcode & GPUs: 35% cheaper!") == "unicode-gpus-35-cheaper"
    assert slugify("!!!", fallback="story") == "story"
    assert len(slugify("word " * 50)) <= 80 and not slugify("word " * 50).endswith("-")
    assert iso_week(datetime(2026, 1, 1, tzinfo=UTC)) == "2026-W01"
    assert iso_week(datetime(2027, 1, 1, tzinfo=UTC)) == "2026-W53"
