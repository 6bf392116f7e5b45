"""A second pass over a placed batch: stories whose centroids converge merge, and items move to
the story they fit best, so that grouping depends much less on arrival order (plain data).

Placing items one by one (`index.place`) decides each item against the stories seen so far:
an early item cannot join a story that is founded later, and two stories founded before their
common wording arrived stay apart. Once the whole batch is placed, this pass looks again, only
among stories that the placement found near each other (its candidates), for a few rounds:
- a story founded in this batch merges into a neighbouring story when their centroids reach
  the same-event threshold (for their distance in time) plus MERGE_MARGIN; stored stories
  never merge with each other (their pages are published);
- an item placed by same-event evidence (or founding a story) moves to the neighbouring story
  whose centroid it matches best, when that clears the same-event threshold and beats its own
  story's centroid without it. URL, content-hash and near-duplicate joins stay with the item
  they matched.
Each moved item's explanation is redone against its final story (score, closest member).
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from aggregator.dedupe.index import Doc, Match, Signature, StoryIndex, dot

# Two stories' centroids are smoother than single documents and score higher against each
# other: a merge needs this much more than the same-event threshold. Measured on the ECB+ dev
# half (both topic halves, bench/grouping_quality.py) and the labelled fixture.
MERGE_MARGIN = 0.25
ROUNDS = 3
# A merge or a move also needs two members (one each side) to score at least this share of the
# threshold: a centroid alone does not decide (see _Pass._touching). 0.75 leaves ECB+ as it
# was (0.5 did too) and stops templated items collapsing into one story (0.5 did not:
# tests/integration/ops/test_crash_safety.py's 100 generated releases became 2 stories).
TOUCH_FLOOR = 0.75
TOUCH_MEMBERS = 32  # members of a story compared one by one
FOLLOWERS = ("url", "hash", "near-duplicate")  # joins that stay with the item they matched

Vector = dict[str, float]


@dataclass
class Placed:
    """One item of the batch as the first pass placed it."""

    doc: Doc
    sig: Signature
    story: int  # index key of the story it was placed in (its own key when it founded one)
    match: Match | None  # None: it founded the story
    neighbours: dict[int, float] = field(default_factory=dict)  # stories it was compared with


def _weighted(index: StoryIndex, sig: Signature) -> tuple[Vector, float]:
    """Return a signature's weighted vector (the index's own, not copied) and 1 / its norm:
    together, its unit vector."""
    vector, norm = index._weighted(sig)
    return vector, 1.0 / norm


def _norm(vector: Vector) -> float:
    return math.hypot(*vector.values()) or 1.0


def _without(product: float, norm: float) -> float:
    """Return the cosine of a unit vector v with C - v, from v.C and |C| (C holds v)."""
    rest = math.sqrt(max(norm * norm - 2 * product + 1.0, 0.0))
    return (product - 1.0) / rest if rest > 1e-9 else -1.0


def _add(total: Vector, vector: Vector, scale: float = 1.0) -> None:
    for term, weight in vector.items():
        total[term] = total.get(term, 0.0) + scale * weight


def _gap(a: tuple[datetime, datetime], b: tuple[datetime, datetime]) -> timedelta:
    return max(a[0] - b[1], b[0] - a[1], timedelta(0))


def regroup(
    index: StoryIndex, batch: list[Placed], fixed: set[int], first_entry: int = 0
) -> list[tuple[int, Match | None]]:
    """Return each batch item's final (story key, match); match None for the item that founds
    a story (its earliest member in batch order). `fixed` are the keys of stories stored before
    the batch (they never merge together); their members are the index entries before
    `first_entry`."""
    if len(batch) < 2:
        return [(p.story, p.match) for p in batch]
    state = _Pass(index, batch, fixed, first_entry)
    for _ in range(ROUNDS):
        changed = state.merge()
        changed |= state.move()
        if not changed:
            break
    return state.explain()


class _Pass:
    """The batch's stories as centroids (sums of unit member vectors), kept up to date as
    stories merge and items move."""

    def __init__(
        self, index: StoryIndex, batch: list[Placed], fixed: set[int], first_entry: int
    ) -> None:
        self.index, self.batch, self.fixed = index, batch, fixed
        # Each item's vector and the factor that makes it a unit vector.
        self.vectors, self.scales = zip(*(_weighted(index, p.sig) for p in batch), strict=True)
        position = {p.doc.item_id: n for n, p in enumerate(batch)}
        self.movable = [p.match is None or p.match.kind not in FOLLOWERS for p in batch]
        # A follower (URL, hash, near-duplicate) goes where the batch item it matched goes.
        self.leader = [
            -1 if self.movable[n] or p.match is None else position.get(p.match.member, -1)
            for n, p in enumerate(batch)
        ]
        self.assign = [p.story for p in batch]
        self.parent: dict[int, int] = {}  # merged story -> the story it merged into
        # Stored stories matter only where the placement met them: those get a centroid of
        # the members they kept before the batch (the others are never looked at).
        near = {p.story for p in batch} | {s for p in batch for s in p.neighbours}
        self.fixed = fixed = fixed & near
        self.centroids: dict[int, Vector] = {story: {} for story in fixed}
        for story in fixed:
            for entry_id in index.stories[story].members:
                if entry_id < first_entry:
                    _add(self.centroids[story], *_weighted(index, index._entries[entry_id][1]))
        self.members: dict[int, set[int]] = defaultdict(set)
        for n, story in enumerate(self.assign):
            self.members[story].add(n)
            if self.movable[n]:
                _add(self.centroids.setdefault(story, {}), self.vectors[n], self.scales[n])
        self.norms: dict[int, float] = {}
        # (item, story) -> (the story centroid's version, the item's dot product with it): a
        # round recomputes only what a merge or a move changed.
        self.versions: dict[int, int] = defaultdict(int)
        self.dots: dict[tuple[int, int], tuple[int, float]] = {}

    def changed(self, story: int) -> None:
        """Forget what was derived from a story's centroid (it just changed)."""
        self.norms.pop(story, None)
        self.versions[story] += 1

    def item_dot(self, n: int, story: int) -> float:
        """Return the dot product of item n's vector with a story's centroid (cached)."""
        version = self.versions[story]
        cached = self.dots.get((n, story))
        if cached is None or cached[0] != version:
            cached = self.dots[(n, story)] = (version, dot(self.vectors[n], self.centroids[story]))
        return cached[1]

    def find(self, story: int) -> int:
        while story in self.parent:
            story = self.parent[story]
        return story

    def norm(self, story: int) -> float:
        value = self.norms.get(story)
        if value is None:
            value = self.norms[story] = _norm(self.centroids[story])
        return value

    def span(self, story: int) -> tuple[datetime, datetime]:
        """Return the time span of a story's members (a stored story's span included)."""
        times = [self.batch[n].doc.published_at for n in self.members.get(story, ())]
        if story in self.fixed:
            entry = self.index.stories[story]
            times += [entry.first_at, entry.last_at]
        return min(times), max(times)

    def pairs(self) -> set[tuple[int, int]]:
        """Return the pairs of current stories that the placement compared an item with."""
        found = set()
        for n, placed in enumerate(self.batch):
            own = self.assign[n]
            for other in placed.neighbours:
                other = self.find(other)
                if other != own and other in self.centroids:
                    found.add((min(own, other), max(own, other)))
        return found

    def merge(self) -> bool:
        """Merge neighbouring stories whose centroids converge (best pairs first); a stored
        story never merges into another stored one."""
        index, fixed = self.index, self.fixed
        found = []
        for a, b in self.pairs():
            if a in fixed and b in fixed:
                continue
            cosine = dot(self.centroids[a], self.centroids[b]) / (self.norm(a) * self.norm(b))
            if cosine < index.event_threshold + MERGE_MARGIN:
                continue
            gap = _gap(self.span(a), self.span(b))
            if gap > index.window or cosine < index.threshold_at(gap) + MERGE_MARGIN:
                continue
            if self._partial(a, b) or self._partial(b, a):
                continue
            if self._touching(self._vectors_of(a), self._vectors_of(b)):
                found.append((cosine, a, b))
        changed = False
        for _, a, b in sorted(found, reverse=True):
            a, b = self.find(a), self.find(b)
            if a == b or (a in fixed and b in fixed):
                continue
            # Into the stored story, else into the one whose earliest item came first.
            first_a = min(self.members[a], default=-1)
            first_b = min(self.members[b], default=-1)
            keep_a = a in fixed or (b not in fixed and first_a < first_b)
            keep, gone = (a, b) if keep_a else (b, a)
            self.parent[gone] = keep
            _add(self.centroids[keep], self.centroids.pop(gone))
            self.changed(keep)
            moved = self.members.pop(gone, set())
            self.members[keep] |= moved
            for n in moved:
                self.assign[n] = keep
            changed = True
        return changed

    def _partial(self, story: int, other: int) -> bool:
        """Return whether a story of one item (of this batch) matches the story `other` only
        through one part of that item's text (see `StoryIndex.partial`)."""
        ns = [n for n in self.members.get(story, ()) if self.movable[n]]
        if len(ns) != 1 or story in self.fixed:
            return False
        return self.index.partial(self.batch[ns[0]].sig, self.centroids[other])

    def _partial_item(self, story: int, n: int) -> bool:
        """Return whether a story of one other item matches item n only through one part of
        that other item's text."""
        ns = [m for m in self.members.get(story, ()) if self.movable[m] and m != n]
        if len(ns) != 1 or story in self.fixed:
            return False
        return self.index.partial(self.batch[ns[0]].sig, self.vectors[n])

    def _vectors_of(self, story: int, without: int = -1) -> list[tuple[Vector, float]]:
        """Return the (vector, scale) of a story's members: its batch items placed by
        same-event evidence and the members a stored story kept (up to TOUCH_MEMBERS)."""
        out = [
            (self.vectors[n], self.scales[n])
            for n in sorted(self.members.get(story, ()))
            if self.movable[n] and n != without
        ][:TOUCH_MEMBERS]
        if story in self.fixed:
            out += [_weighted(self.index, sig) for sig in self.index.signatures(story)]
        return out

    def _touching(
        self, ours: list[tuple[Vector, float]], theirs: list[tuple[Vector, float]]
    ) -> bool:
        """Return whether some member of one side scores at least TOUCH_FLOOR x the threshold
        with some member of the other. Stories that share only what every item says (a
        template, boilerplate) have centroids that look alike, and a big centroid attracts
        every item that says it, while no two of their members are close."""
        floor = TOUCH_FLOOR * self.index.event_threshold
        for vector, scale in ours:
            for other, other_scale in theirs:
                if scale * other_scale * dot(vector, other) >= floor:
                    return True
        return False

    def _partial_move(self, n: int, story: int) -> bool:
        """Return whether item n matches a story only through one part of its own text, or
        of the text of the story's one item."""
        if self.index.partial(self.batch[n].sig, self.centroids[story]):
            return True
        return self._partial_item(story, n)

    def move(self) -> bool:
        """Move each movable item to the neighbouring story whose centroid it matches best;
        every item is decided against the same centroids, so their order does not matter."""
        index = self.index
        adjacent: dict[int, set[int]] = defaultdict(set)
        for a, b in self.pairs():
            adjacent[a].add(b)
            adjacent[b].add(a)
        spans = {story: self.span(story) for story in adjacent}
        moves = []
        for n, placed in enumerate(self.batch):
            if not self.movable[n]:
                continue
            own = self.assign[n]
            others = adjacent[own] | {self.find(s) for s in placed.neighbours}
            others = {s for s in others if s != own and s in self.centroids}
            if not others:
                continue  # nothing near: most items, most of the time
            vector, scale = self.vectors[n], self.scales[n]
            alone = len(self.members[own]) == 1 and own not in self.fixed
            here = scale * self.item_dot(n, own)
            best = -1.0 if alone else _without(here, self.norm(own))
            target = own
            when = placed.doc.published_at
            for other in sorted(others):
                cosine = scale * self.item_dot(n, other) / self.norm(other)
                if cosine <= best or cosine < index.event_threshold:
                    continue
                gap = _gap(spans.get(other) or self.span(other), (when, when))
                if gap > index.window or cosine < index.threshold_at(gap):
                    continue
                if self._partial_move(n, other):
                    continue
                mine = [(vector, scale)]
                if self._touching(mine, self._vectors_of(other, without=n)):
                    best, target = cosine, other
            if target != own:
                moves.append((n, target))
        for n, target in moves:
            self._relocate(n, target)
        for n in range(len(self.batch)):
            if self.leader[n] >= 0:
                top = n
                while self.leader[top] >= 0:
                    top = self.leader[top]
                self._relocate(n, self.assign[top])
        for story in [s for s, ns in self.members.items() if not ns and s not in self.fixed]:
            del self.members[story], self.centroids[story]  # every item left it
            self.changed(story)
        return bool(moves)

    def _relocate(self, n: int, target: int) -> None:
        own = self.assign[n]
        if own == target:
            return
        self.members[own].discard(n)
        self.members[target].add(n)
        if self.movable[n]:
            _add(self.centroids[own], self.vectors[n], -self.scales[n])
            _add(self.centroids[target], self.vectors[n], self.scales[n])
            self.changed(own)
            self.changed(target)
        self.assign[n] = target

    def explain(self) -> list[tuple[int, Match | None]]:
        """Return the final (story, match) of each item, its explanation redone where it
        moved or where the member it matched left its story."""
        out: list[tuple[int, Match | None]] = []
        for n, placed in enumerate(self.batch):
            story, match = self.assign[n], placed.match
            if story not in self.fixed and n == min(self.members[story]):
                out.append((story, None))  # the earliest member founds a story of this batch
            elif match is not None and not self.movable[n]:
                # A follower: the item it matched is beside it, in whatever story that went.
                out.append((story, replace(match, story=story)))
            elif match is not None and story == placed.story and self._holds(story, match.member):
                out.append((story, match))
            else:
                out.append((story, self._rematch(n, story)))
        return out

    def _holds(self, story: int, item: int) -> bool:
        if any(self.batch[m].doc.item_id == item for m in self.members[story]):
            return True
        return story in self.fixed and item in self.index.members(story)

    def _rematch(self, n: int, story: int) -> Match:
        """Return a same-event match of item n against its story: the closest member, scored
        by the higher of that member's cosine and the centroid's (without the item)."""
        vector, scale = self.vectors[n], self.scales[n]
        best, member = -1.0, 0
        for m in self.members[story]:
            if m != n and self.movable[m]:
                cosine = scale * self.scales[m] * dot(vector, self.vectors[m])
                if cosine > best:
                    best, member = cosine, self.batch[m].doc.item_id
        if story in self.fixed:
            index = self.index
            for sig, item in zip(index.signatures(story), index.members(story), strict=True):
                other, other_scale = _weighted(index, sig)
                cosine = scale * other_scale * dot(vector, other)
                if item and cosine > best:
                    best, member = cosine, item
        centroid = _without(scale * dot(vector, self.centroids[story]), self.norm(story))
        return Match(story, "same-event", round(max(best, centroid), 4), member)
