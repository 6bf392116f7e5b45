"""Duplicates and stories: which items report the same news (plain data in and out, no database).

Two signals decide whether an item joins a story already seen within the time window:
- near-duplicate text: MinHash over word 3-shingles (estimated Jaccard), bucketed with LSH;
- same-event coverage: cosine of TF-IDF term vectors (sublinear counts of stemmed words, title
  words and names weigh more, IDF over the window), against the story's closest member and
  against the story's centroid (the sum of its members), whichever is higher.
The same-event threshold rises over the first day of distance from a story's time span (a
follow-up a day later needs more shared words). A match whose shared terms sit in one or two
parts of a long text (a newsletter's one section) is not same-event (`StoryIndex.partial`).
Exact duplicates (same canonical URL or content hash) are settled before either. Every match
says how it was made and which member it matched, so a wrong merge can be understood. Once a
batch is placed, `regroup` looks at it again (merges, moves), so that the arrival order within
the batch matters less.
"""

from __future__ import annotations

import gc
import math
from bisect import bisect_left
from collections import Counter, defaultdict
from collections.abc import Iterator
from concurrent.futures import Executor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from heapq import nlargest
from itertools import chain
from operator import itemgetter, mul

from aggregator.dedupe.signature import (
    MAX_KEYWORDS,
    Signature,
    _band_keys,
    jaccard,
    minhash,
    signature,
    signature_pair,
    tokens,
)
from aggregator.pools import process_pool

__all__ = [
    "MAX_KEYWORDS",
    "PARALLEL_MIN_DOCS",
    "Doc",
    "Match",
    "Signature",
    "StoryIndex",
    "gc_paused",
    "jaccard",
    "minhash",
    "place",
    "signature",
    "signatures",
    "tokens",
]

QUERY_KEYWORDS = 10
MAX_CANDIDATES = 64  # keyword candidates scored per query, most shared keywords first
MEMBERS_KEPT = 4  # member signatures a story keeps for matching later items
VECTOR_TERMS = 80  # a document's vector keeps its heaviest terms after IDF weighting
# A story whose closest member is this far below the threshold is not worth its centroid.
CENTROID_FLOOR = 0.5
# Measured on ECB+ (bench/grouping_quality.py) and tests/fixtures/dedupe (tests/unit/dedupe).
EVENT_THRESHOLD = 0.3
# Coverage of one event comes within hours; a story about the same names a day later is most
# often a follow-up (a reaction, a test, a correction) and needs more shared words: the threshold
# rises by EVENT_DECAY over the first EVENT_DECAY_SPAN of distance from the story's span, then
# stays there until the window ends (a gap in time, not in order).
EVENT_DECAY = 0.2
EVENT_DECAY_SPAN = timedelta(hours=24)

# A match is partial when this share of its evidence (the dot product) comes from terms whose
# occurrences in a long text's body (its parts after the first, which holds the title, lede or
# a newsletter's contents) all lie within LOCAL_PARTS adjacent parts: the text covers more than
# the event (a roundup's one item, an analysis's one paragraph). Texts cut into fewer than
# LOCAL_MIN_PARTS parts are never partial.
LOCAL_SHARE = 0.7
LOCAL_PARTS = 2
LOCAL_MIN_PARTS = 5

RELATED_DAYS = 30
PARALLEL_MIN_DOCS = 2000  # below this, starting worker processes costs more than it saves


def dot(a: dict[str, float], b: dict[str, float]) -> float:
    """Return the dot product of two sparse vectors (iterating the smaller one)."""
    if len(a) > len(b):
        a, b = b, a
    # Two vectors share few terms: multiplying only those takes a third less time than
    # multiplying every term by a default of zero (and adding zeros leaves the same sum).
    return sum([weight * b[term] for term, weight in a.items() if term in b], 0.0)


def signatures(
    docs: list[tuple[str, str]], workers: int = 1, pool: Executor | None = None
) -> Iterator[Signature]:
    """Return the signatures of (title, text) pairs in order, as they are ready: big batches go
    to `pool` (or a new one of `workers` processes) at once, small ones are made on demand."""
    if (pool is None and workers < 2) or len(docs) < PARALLEL_MIN_DOCS:
        return (signature(title, text) for title, text in docs)
    if pool is not None:
        return pool.map(signature_pair, docs, chunksize=256)
    return _on_new_pool(docs, workers)


def _on_new_pool(docs: list[tuple[str, str]], workers: int) -> Iterator[Signature]:
    """Return signatures made by a pool of `workers` processes that ends with the iteration."""
    with process_pool(workers, ["aggregator.dedupe.index"]) as pool:
        yield from pool.map(signature_pair, docs, chunksize=256)


@contextmanager
def gc_paused() -> Iterator[None]:
    """Return a context in which the cyclic garbage collector does not run (it is restored
    after). Matching a batch makes many small containers and frees none of them, so every
    collection would be wasted work (about 4% of `group_documents` on ECB+)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@dataclass
class Doc:
    """One item to place in a story."""

    item_id: int
    title: str
    text: str
    published_at: datetime
    canonical_url: str | None = None
    content_hash: str | None = None
    topics: frozenset[str] = frozenset()


@dataclass
class Match:
    """Where an item goes: an existing story (`story`), how it was matched, and how closely."""

    story: int
    kind: str  # "url" | "hash" | "near-duplicate" | "same-event"
    score: float
    member: int = 0  # item id of the story member that matched (0: not known)


@dataclass
class _Story:
    first_at: datetime
    last_at: datetime
    topics: set[str] = field(default_factory=set)
    members: list[int] = field(default_factory=list)  # entry ids
    # (index generation, member count, centroid vector, its norm), redone when either changes.
    centroid: tuple[int, int, dict[str, float], float] | None = None


@dataclass
class StoryIndex:
    """Stories seen so far, searchable by URL, content hash, LSH bucket and keyword."""

    window: timedelta = timedelta(days=4)
    near_threshold: float = 0.5
    event_threshold: float = EVENT_THRESHOLD
    related_threshold: float = 0.12
    max_related: int = 5
    stories: dict[int, _Story] = field(default_factory=dict)
    _entries: list[tuple[int, Signature, int]] = field(default_factory=list)  # story, sig, item
    _by_url: dict[str, tuple[int, int]] = field(default_factory=dict)  # -> (story, item id)
    _by_hash: dict[str, tuple[int, int]] = field(default_factory=dict)
    _buckets: dict[tuple[int, bytes], list[int]] = field(default_factory=lambda: defaultdict(list))
    _postings: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))

    _entry_times: list[float] = field(default_factory=list)
    # Document frequencies: every signature counted once, when primed or else when indexed.
    _df: Counter[str] = field(default_factory=Counter)
    _df_docs: int = 0
    _primed: set[int] = field(default_factory=set)  # id() of primed signatures
    _idf: dict[str, float] = field(default_factory=dict)
    _idf_size: int = 0
    _generation: int = 0

    def _refresh(self) -> None:
        """Start a new IDF table (and generation) once the index grew by a fifth since the
        last: exact on small indexes, cheap on large ones, where more documents barely move
        the weights."""
        size = self._df_docs
        if size > 40 + self._idf_size * 1.2 or (size < 40 and size != self._idf_size):
            self._idf.clear()
            self._idf_size = size
            self._generation += 1

    def idf(self, term: str) -> float:
        """Return the inverse document frequency of a term among the signatures counted."""
        self._refresh()
        value = self._idf.get(term)
        if value is None:
            value = self._idf[term] = self._idf_of(term)
        return value

    def _idf_of(self, term: str) -> float:
        """Return a term's IDF computed from the document frequencies (not the table)."""
        return math.log((self._df_docs + 1) / (self._df.get(term, 0) + 1)) + 1.0

    def _weighted(self, sig: Signature) -> tuple[dict[str, float], float]:
        """Return the signature's IDF-weighted keyword vector and its norm (cached)."""
        self._refresh()
        cached = sig.weighted
        # Once the index is large, a vector keeps the weights it was first given: IDF then
        # moves little, and re-weighting every candidate would dominate the run time.
        if cached is not None and (cached[0] == self._generation or self._idf_size >= 500):
            return cached[1], cached[2]
        keywords, known = sig.keywords, self._idf
        missing = set(keywords).difference(known)  # (a dict argument: looked up, not walked)
        for term in missing:  # terms not weighed since the table was started
            known[term] = self._idf_of(term)
        weights = map(mul, keywords.values(), map(known.__getitem__, keywords))
        vector = dict(zip(keywords, weights, strict=True))  # all in C
        if len(vector) > VECTOR_TERMS:  # the rarest terms carry the event; drop the rest
            ranked = sorted(vector.items(), key=itemgetter(1), reverse=True)
            vector = dict(ranked[:VECTOR_TERMS])
        values = vector.values()
        norm = math.sqrt(sum(map(mul, values, values))) or 1.0
        sig.weighted = (self._generation, vector, norm)
        return vector, norm

    def cosine(self, a: Signature, b: Signature) -> float:
        """Return the IDF-weighted cosine of two keyword vectors."""
        (va, na), (vb, nb) = self._weighted(a), self._weighted(b)
        return dot(va, vb) / (na * nb)

    def centroid(self, story: int) -> tuple[dict[str, float], float]:
        """Return the sum of a story's unit member vectors and its norm (cached)."""
        entry = self.stories[story]
        cached = entry.centroid
        count = len(entry.members)
        if cached is None or cached[:2] != (self._generation, count):
            # Members are only ever appended: with the same weights, the sum so far stands and
            # only the new members are added (in member order, so the sums come out the same).
            grown = cached is not None and cached[0] == self._generation and cached[1] < count
            total = dict(cached[2]) if grown else {}
            get = total.get
            for entry_id in entry.members[cached[1] if grown else 0 :]:
                vector, norm = self._weighted(self._entries[entry_id][1])
                for term, weight in vector.items():
                    total[term] = get(term, 0.0) + weight / norm
            weights = total.values()
            norm = math.sqrt(sum(map(mul, weights, weights))) or 1.0
            entry.centroid = cached = (self._generation, count, total, norm)
        return cached[2], cached[3]

    def partial(self, sig: Signature, other: dict[str, float]) -> bool:
        """Return whether a document matches `other` (a vector) only through one part of its
        body: most of the shared weight sits in LOCAL_PARTS adjacent parts of a long text."""
        count = sig.parts[0].bit_count() if sig.parts else 0
        if count < LOCAL_MIN_PARTS:
            return False
        parts = sig.part_masks()
        vector, _ = self._weighted(sig)
        shared = [(w * other[t], parts.get(t, 0) & ~1) for t, w in vector.items() if t in other]
        total = sum(c for c, _ in shared)
        if total <= 0:
            return False
        # local[start]: the weight of the terms that occur only within the parts start ..
        # start + LOCAL_PARTS - 1 (one pass over the terms, each adding to the windows it fits).
        last = count - LOCAL_PARTS
        local = [0.0] * (last + 1)
        for c, mask in shared:
            if mask:
                low, high = (mask & -mask).bit_length() - 1, mask.bit_length() - 1
                for start in range(max(1, high - LOCAL_PARTS + 1), min(low, last) + 1):
                    local[start] += c
        return max(local) >= LOCAL_SHARE * total

    def centroid_cosine(self, sig: Signature, story: int) -> float:
        """Return the cosine of a document's vector and a story's centroid."""
        vector, norm = self._weighted(sig)
        total, total_norm = self.centroid(story)
        shared = sum([w * total[t] for t, w in vector.items() if t in total])
        return shared / (norm * total_norm)

    def add(self, story: int, doc: Doc, sig: Signature | None) -> None:
        """Record that a document belongs to a story (creating the story if new)."""
        entry = self.stories.get(story)
        if entry is None:
            entry = self.stories[story] = _Story(doc.published_at, doc.published_at)
        entry.first_at = min(entry.first_at, doc.published_at)
        entry.last_at = max(entry.last_at, doc.published_at)
        entry.topics |= doc.topics
        if doc.canonical_url:
            self._by_url.setdefault(doc.canonical_url, (story, doc.item_id))
        if doc.content_hash:
            self._by_hash.setdefault(doc.content_hash, (story, doc.item_id))
        if sig is not None and len(entry.members) < MEMBERS_KEPT:
            self._index_signature(story, sig, doc)

    def prime(self, sigs: list[Signature]) -> None:
        """Count a batch's signatures in the document frequencies before it is placed, so
        that IDF does not depend on which of them arrive first."""
        for sig in sigs:
            if id(sig) not in self._primed:
                self._primed.add(id(sig))
                self._df.update(sig.keywords.keys())
                self._df_docs += 1

    def _index_signature(self, story: int, sig: Signature, doc: Doc) -> None:
        if id(sig) not in self._primed:
            self._df.update(sig.keywords.keys())
            self._df_docs += 1
        entry_id = len(self._entries)
        self._entries.append((story, sig, doc.item_id))
        when = doc.published_at
        self._entry_times.append(when.timestamp())
        self.stories[story].members.append(entry_id)
        for key in _band_keys(sig):
            self._buckets[key].append(entry_id)
        for term in sig.keywords:
            self._postings[term].append(entry_id)

    def signatures(self, story: int) -> list[Signature]:
        """Return the member signatures a story keeps."""
        return [self._entries[i][1] for i in self.stories[story].members]

    def members(self, story: int) -> list[int]:
        """Return the item ids of the members a story keeps (0 where not known)."""
        return [self._entries[i][2] for i in self.stories[story].members]

    def threshold_at(self, gap: timedelta) -> float:
        """Return the same-event threshold for a document this far from a story's time span."""
        span = min(self.window, EVENT_DECAY_SPAN)
        share = min(1.0, abs(gap) / span) if span else 1.0
        return self.event_threshold + EVENT_DECAY * share

    def _gap(self, story: int, when: datetime) -> timedelta:
        """Return how far a time lies outside a story's span (zero inside it)."""
        entry = self.stories[story]
        return max(entry.first_at - when, when - entry.last_at, timedelta(0))

    def _candidates(self, sig: Signature, since: float) -> set[int]:
        """Return entry ids sharing an LSH bucket, or sharing two of the query's rarest
        keywords among entries indexed for documents published after `since` (epoch)."""
        found: set[int] = set()
        for key in _band_keys(sig):
            found.update(self._buckets.get(key, ()))
        vector, _ = self._weighted(sig)
        ranked = sorted(vector, key=vector.__getitem__, reverse=True)
        # Entries are added in (roughly) time order, so one bisection finds the window's start
        # in every posting list; an approximate start only widens or narrows the search a little.
        first = bisect_left(self._entry_times, since)
        common = max(50, (len(self._entries) - first) // 10)  # frequent in the window: no signal
        found_in = []
        for term in ranked[:QUERY_KEYWORDS]:
            posting = self._postings.get(term)
            if posting:
                start = bisect_left(posting, first)
                if len(posting) - start <= common:
                    found_in.append(posting[start:])
        counts = Counter(chain.from_iterable(found_in))  # one count, in the same order
        # The MAX_CANDIDATES most shared (ties: first counted first), as most_common would.
        pairs = [p for p in counts.items() if p[1] >= 2]
        shared = nlargest(MAX_CANDIDATES, pairs, key=itemgetter(1))
        found.update(i for i, _ in shared)
        return found

    def match(
        self, doc: Doc, sig: Signature | None, neighbours: dict[int, float] | None = None
    ) -> Match | None:
        """Return the story this document joins, or None when it is new news; `neighbours`,
        when given, receives the stories within reach of the same-event test and their scores
        (what a second pass over the batch looks at, `regroup`)."""
        for key, table, kind in (
            (doc.canonical_url, self._by_url, "url"),
            (doc.content_hash, self._by_hash, "hash"),
        ):
            found = table.get(key) if key else None
            if found is not None:
                return Match(found[0], kind, 1.0, found[1])
        if sig is None:
            return None
        best: Match | None = None
        # story -> (best member cosine, its item, its signature)
        closest: dict[int, tuple[float, int, Signature]] = {}
        when = doc.published_at
        since = (when - 2 * self.window).timestamp()
        vector, norm = self._weighted(sig)
        weighted, stories, window = self._weighted, self.stories, self.window
        for entry_id in sorted(self._candidates(sig, since)):
            story, other, item = self._entries[entry_id]
            entry = stories[story]
            if not entry.first_at - window <= when <= entry.last_at + window:
                continue
            near = jaccard(sig, other)
            if near >= self.near_threshold:
                if best is None or near > best.score:
                    best = Match(story, "near-duplicate", near, item)
                continue
            other_vector, other_norm = weighted(other)
            cosine = dot(vector, other_vector) / (norm * other_norm)
            if story not in closest or cosine > closest[story][0]:
                closest[story] = (cosine, item, other)
        for story, (cosine, item, other) in closest.items():
            by_centroid = False
            if (
                len(self.stories[story].members) > 1
                and cosine >= CENTROID_FLOOR * self.event_threshold
            ):
                # A story told several ways: the document may match what they share best.
                centroid = self.centroid_cosine(sig, story)
                by_centroid = centroid > cosine
                cosine = max(cosine, centroid)
            if neighbours is not None and cosine >= CENTROID_FLOOR * self.event_threshold:
                neighbours[story] = cosine
            wanted = self.threshold_at(self._gap(story, doc.published_at))
            if cosine < wanted or (best is not None and cosine <= best.score):
                continue
            if self._partial_match(sig, other, story if by_centroid else None):
                continue
            best = Match(story, "same-event", cosine, item)
        return best

    def _partial_match(self, sig: Signature, other: Signature, story: int | None) -> bool:
        """Return whether a same-event match rests on one part of either document (against a
        story's centroid when `story` is given, else against the member `other`)."""
        if story is not None:
            return self.partial(sig, self.centroid(story)[0])
        return self.partial(sig, self._weighted(other)[0]) or self.partial(
            other, self._weighted(sig)[0]
        )

    def related(
        self, doc: Doc, sig: Signature, exclude: int | None = None
    ) -> list[tuple[int, float]]:
        """Return up to max_related earlier stories (similar text; shared topics rank higher)."""
        scores: dict[int, float] = {}
        since = (doc.published_at - timedelta(days=RELATED_DAYS)).timestamp()
        for entry_id in self._candidates(sig, since):
            story, other, _ = self._entries[entry_id]
            entry = self.stories[story]
            if story == exclude or entry.first_at > doc.published_at:
                continue
            if doc.published_at - entry.last_at > timedelta(days=RELATED_DAYS):
                continue
            score = self.cosine(sig, other)
            if score < self.related_threshold:
                continue
            score += 0.05 if doc.topics & entry.topics else 0.0
            scores[story] = max(scores.get(story, 0.0), score)
        ranked = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))
        return [(story, round(score, 4)) for story, score in ranked[: self.max_related]]


def place(
    index: StoryIndex,
    doc: Doc,
    sig: Signature,
    new_key: int,
    related: bool = False,
    neighbours: dict[int, float] | None = None,
) -> tuple[Match | None, list[tuple[int, float]]]:
    """Return where a document goes (None: a new story keyed `new_key`) and, for a new story
    when asked, its related earlier stories; the index learns the document either way.
    `neighbours` receives the stories it was compared with (see `StoryIndex.match`)."""
    match = index.match(doc, sig, neighbours)
    if match is None:
        found = index.related(doc, sig) if related else []
        index.add(new_key, doc, sig)
        return None, found
    # A near-duplicate adds no new wording: only a same-event join keeps the signature.
    index.add(match.story, doc, sig if match.kind == "same-event" else None)
    return match, []
