"""Duplicates and stories: which items report the same news (plain data in and out, no database).

Two signals decide whether an item joins a story already seen within the time window:
- near-duplicate text: MinHash over word 3-shingles (estimated Jaccard), bucketed with LSH;
- same-event coverage: cosine of keyword vectors (title-weighted term counts times IDF).
Exact duplicates (same canonical URL or content hash) are settled before either.
"""

from __future__ import annotations

import hashlib
import math
import re
import unicodedata
import zlib
from bisect import bisect_left
from collections import Counter, defaultdict
from collections.abc import Iterator
from concurrent.futures import Executor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from heapq import nlargest
from operator import itemgetter
from typing import Any

import numpy as np

from aggregator.pools import process_pool

NUM_PERM = 64
BANDS = 16  # 16 bands of 4 rows: pairs above ~0.5 Jaccard share a bucket with high probability
SHINGLE = 3
MAX_SIGNATURE_TOKENS = 300
MAX_KEYWORDS = 40
QUERY_KEYWORDS = 10
MAX_CANDIDATES = 64  # keyword candidates scored per query, most shared keywords first
MEMBERS_KEPT = 4  # member signatures a story keeps for matching later items
TITLE_WEIGHT = 3.0
# Measured on tests/fixtures/dedupe/labelled_pairs.json (see tests/unit/dedupe).
EVENT_THRESHOLD = 0.35
RELATED_DAYS = 30
PARALLEL_MIN_DOCS = 2000  # below this, starting worker processes costs more than it saves


def _constants(label: str) -> np.ndarray:
    # Derived from sha256, not a seeded RNG: stored signatures must stay comparable across
    # numpy versions.
    digests = (hashlib.sha256(f"minhash:{label}:{i}".encode()).digest() for i in range(NUM_PERM))
    return np.array([int.from_bytes(d[:8], "big") | 1 for d in digests], dtype=np.uint64)


_A, _B = _constants("a"), _constants("b")
_WORD = re.compile(r"\w+")
_STOP_WORDS = """a about after again all also an and any are as at be been before being but by can could
    did do does for from had has have he her his how i if in into is it its just may me more
    most my new no not now of on one only or other our out over said says she so some such than
    that the their them then there these they this those through to too two up us was we were
    what when where which while who will with would you your year years week today first last
    du de la le les des et en un une der die das und ein eine el los las y del"""
_STOP = frozenset(_STOP_WORDS.split())


def tokens(text: str) -> list[str]:
    """Return lower-case word tokens (NFKC-folded) of a text."""
    return _WORD.findall(unicodedata.normalize("NFKC", text).casefold())


_TOKEN_HASHES: dict[str, int] = {}  # crc32 per token, memoised (bounded)


def _token_hashes(words: list[str]) -> list[int]:
    """Return the crc32 of each token (stable across processes, unlike hash())."""
    get = _TOKEN_HASHES.get
    out = [get(w) for w in words]
    for i, value in enumerate(out):
        if value is None:
            value = out[i] = zlib.crc32(words[i].encode("utf-8"))
            if len(_TOKEN_HASHES) < 500_000:
                _TOKEN_HASHES[words[i]] = value
    return out  # type: ignore[return-value]


def minhash(words: list[str]) -> np.ndarray:
    """Return the NUM_PERM MinHash values (uint32) of a token list's 3-shingles."""
    hashes = np.array(_token_hashes(words), dtype=np.uint64)
    if len(hashes) >= SHINGLE:
        # A shingle's hash mixes its tokens' hashes.
        mixed = hashes[:-2] * np.uint64(0x9E3779B1) ^ hashes[1:-1] * np.uint64(0x85EBCA77)
        shingles = (mixed ^ hashes[2:]) & np.uint64(0xFFFFFFFF)
    else:
        shingles = hashes
    if len(shingles) == 0:
        return np.full(NUM_PERM, 0xFFFFFFFF, dtype=np.uint32)
    # Multiply-shift hashing (a*x + b mod 2^64, high 32 bits): one family member per row.
    values = (np.outer(_A, shingles) + _B[:, None]) >> np.uint64(32)
    return values.min(axis=1).astype(np.uint32)


def _content_words(words: list[str]) -> list[str]:
    return [w for w in words if w not in _STOP and (len(w) > 1 or w.isdigit())]


def keywords(title_words: list[str], text_words: list[str]) -> dict[str, float]:
    """Return the MAX_KEYWORDS heaviest terms: counts (title words weigh more), numbers kept."""
    counts: Counter[str] = Counter(_content_words(text_words[: MAX_SIGNATURE_TOKENS * 2]))
    for word in _content_words(title_words):
        counts[word] += TITLE_WEIGHT
    top = counts.most_common(MAX_KEYWORDS)
    return {term: round(1.0 + math.log(count), 3) for term, count in top}


@dataclass
class Signature:
    """What matching needs to know about one document: MinHash values and keyword weights."""

    minhash: np.ndarray
    keywords: dict[str, float]
    # (index generation, IDF-weighted vector, its norm): redone only when the IDF table changes.
    weighted: tuple[int, dict[str, float], float] | None = field(
        default=None, repr=False, compare=False
    )

    def to_json(self) -> dict[str, Any]:
        """Return the signature as JSON-ready data."""
        return {"mh": [int(v) for v in self.minhash], "kw": self.keywords}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Signature:
        """Return a signature from its JSON form."""
        return cls(np.asarray(data["mh"], dtype=np.uint32), dict(data.get("kw") or {}))


def signature(title: str, text: str) -> Signature:
    """Return the signature of a document from its title and text."""
    title_words, text_words = tokens(title), tokens(text[:20_000])
    return Signature(
        minhash(title_words + text_words[:MAX_SIGNATURE_TOKENS]), keywords(title_words, text_words)
    )


def _signature_pair(pair: tuple[str, str]) -> Signature:
    return signature(*pair)


def signatures(
    docs: list[tuple[str, str]], workers: int = 1, pool: Executor | None = None
) -> Iterator[Signature]:
    """Return the signatures of (title, text) pairs in order, as they are ready: big batches go
    to `pool` (or a new one of `workers` processes) at once, small ones are made on demand."""
    if (pool is None and workers < 2) or len(docs) < PARALLEL_MIN_DOCS:
        return (signature(title, text) for title, text in docs)
    if pool is not None:
        return pool.map(_signature_pair, docs, chunksize=256)
    return _on_new_pool(docs, workers)


def _on_new_pool(docs: list[tuple[str, str]], workers: int) -> Iterator[Signature]:
    """Return signatures made by a pool of `workers` processes that ends with the iteration."""
    with process_pool(workers, ["aggregator.dedupe.index"]) as pool:
        yield from pool.map(_signature_pair, docs, chunksize=256)


def jaccard(a: Signature, b: Signature) -> float:
    """Return the estimated Jaccard similarity of two documents' shingle sets."""
    same = a.minhash == b.minhash
    return np.count_nonzero(same) / same.size  # exact, like the mean of the booleans


def _band_keys(sig: Signature) -> list[tuple[int, bytes]]:
    """Return the LSH bucket keys of a signature: (band, that band's bytes)."""
    raw = sig.minhash.tobytes()
    width = len(raw) // BANDS
    return [(band, raw[band * width : (band + 1) * width]) for band in range(BANDS)]


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


@dataclass
class _Story:
    first_at: datetime
    last_at: datetime
    topics: set[str] = field(default_factory=set)
    members: list[int] = field(default_factory=list)  # entry ids


@dataclass
class StoryIndex:
    """Stories seen so far, searchable by URL, content hash, LSH bucket and keyword."""

    window: timedelta = timedelta(days=4)
    near_threshold: float = 0.5
    event_threshold: float = EVENT_THRESHOLD
    related_threshold: float = 0.12
    max_related: int = 5
    stories: dict[int, _Story] = field(default_factory=dict)
    _entries: list[tuple[int, Signature]] = field(default_factory=list)
    _by_url: dict[str, int] = field(default_factory=dict)
    _by_hash: dict[str, int] = field(default_factory=dict)
    _buckets: dict[tuple[int, bytes], list[int]] = field(default_factory=lambda: defaultdict(list))
    _postings: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))

    _entry_times: list[float] = field(default_factory=list)
    _idf: dict[str, float] = field(default_factory=dict)
    _idf_size: int = 0
    _generation: int = 0

    def idf(self, term: str) -> float:
        """Return the inverse document frequency of a term among indexed signatures."""
        size = len(self._entries)
        # The table is rebuilt lazily once the index grew by a fifth: exact on small indexes,
        # cheap on large ones, where more documents barely move the weights.
        if size > 40 + self._idf_size * 1.2 or (size < 40 and size != self._idf_size):
            self._idf.clear()
            self._idf_size = size
            self._generation += 1
        value = self._idf.get(term)
        if value is None:
            value = math.log((size + 1) / (len(self._postings.get(term, ())) + 1)) + 1.0
            self._idf[term] = value
        return value

    def _weighted(self, sig: Signature) -> tuple[dict[str, float], float]:
        """Return the signature's IDF-weighted keyword vector and its norm (cached)."""
        idf = self.idf
        idf("")  # refreshes the table (and generation) when due
        # Once the index is large, a vector keeps the weights it was first given: IDF then
        # moves little, and re-weighting every candidate would dominate the run time.
        stale = sig.weighted is not None and sig.weighted[0] != self._generation
        if sig.weighted is None or (stale and self._idf_size < 500):
            known = self._idf  # a known term's weight without a call (the hot path)
            vector = {t: w * (known.get(t) or idf(t)) for t, w in sig.keywords.items()}
            norm = math.sqrt(sum(v * v for v in vector.values())) or 1.0
            sig.weighted = (self._generation, vector, norm)
        return sig.weighted[1], sig.weighted[2]

    def cosine(self, a: Signature, b: Signature) -> float:
        """Return the IDF-weighted cosine of two keyword vectors."""
        (va, na), (vb, nb) = self._weighted(a), self._weighted(b)
        if len(va) > len(vb):
            va, vb = vb, va
        dot = sum([w * vb[t] for t, w in va.items() if t in vb])
        return dot / (na * nb)

    def add(self, story: int, doc: Doc, sig: Signature | None) -> None:
        """Record that a document belongs to a story (creating the story if new)."""
        entry = self.stories.get(story)
        if entry is None:
            entry = self.stories[story] = _Story(doc.published_at, doc.published_at)
        entry.first_at = min(entry.first_at, doc.published_at)
        entry.last_at = max(entry.last_at, doc.published_at)
        entry.topics |= doc.topics
        if doc.canonical_url:
            self._by_url.setdefault(doc.canonical_url, story)
        if doc.content_hash:
            self._by_hash.setdefault(doc.content_hash, story)
        if sig is not None and len(entry.members) < MEMBERS_KEPT:
            self._index_signature(story, sig, doc.published_at)

    def _index_signature(self, story: int, sig: Signature, when: datetime) -> None:
        entry_id = len(self._entries)
        self._entries.append((story, sig))
        self._entry_times.append(when.timestamp())
        self.stories[story].members.append(entry_id)
        for key in _band_keys(sig):
            self._buckets[key].append(entry_id)
        for term in sig.keywords:
            self._postings[term].append(entry_id)

    def signatures(self, story: int) -> list[Signature]:
        """Return the member signatures a story keeps."""
        return [self._entries[i][1] for i in self.stories[story].members]

    def _in_window(self, story: int, when: datetime, window: timedelta) -> bool:
        entry = self.stories[story]
        return entry.first_at - window <= when <= entry.last_at + window

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
        counts: Counter[int] = Counter()
        for term in ranked[:QUERY_KEYWORDS]:
            posting = self._postings.get(term)
            if posting:
                start = bisect_left(posting, first)
                if len(posting) - start <= common:
                    counts.update(posting[start:])
        # The MAX_CANDIDATES most shared (ties: first counted first), as most_common would.
        pairs = [p for p in counts.items() if p[1] >= 2]
        shared = nlargest(MAX_CANDIDATES, pairs, key=itemgetter(1))
        found.update(i for i, _ in shared)
        return found

    def match(self, doc: Doc, sig: Signature | None) -> Match | None:
        """Return the story this document joins, or None when it is new news."""
        for key, table, kind in (
            (doc.canonical_url, self._by_url, "url"),
            (doc.content_hash, self._by_hash, "hash"),
        ):
            story = table.get(key) if key else None
            if story is not None:
                return Match(story, kind, 1.0)
        if sig is None:
            return None
        best: Match | None = None
        since = (doc.published_at - 2 * self.window).timestamp()
        for entry_id in self._candidates(sig, since):
            story, other = self._entries[entry_id]
            if not self._in_window(story, doc.published_at, self.window):
                continue
            near = jaccard(sig, other)
            if near >= self.near_threshold:
                candidate = Match(story, "near-duplicate", near)
            else:
                cosine = self.cosine(sig, other)
                if cosine < self.event_threshold:
                    continue
                candidate = Match(story, "same-event", cosine)
            if best is None or candidate.score > best.score:
                best = candidate
        return best

    def related(
        self, doc: Doc, sig: Signature, exclude: int | None = None
    ) -> list[tuple[int, float]]:
        """Return up to max_related earlier stories (similar text; shared topics rank higher)."""
        scores: dict[int, float] = {}
        since = (doc.published_at - timedelta(days=RELATED_DAYS)).timestamp()
        for entry_id in self._candidates(sig, since):
            story, other = self._entries[entry_id]
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
