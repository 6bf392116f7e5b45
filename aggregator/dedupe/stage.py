"""The dedupe stage: place each extracted item in a story (new, or one it duplicates or covers).

One writer at a time: on PostgreSQL a transaction-level advisory lock serialises runs, so two
workers never create two stories for the same news; SQLite serialises writers by itself.
A run holds stories as plain data and reads and writes them in bulk (`dedupe_store`): a
backlog of 20,000 items is one run, and ORM objects per item would cost more than matching.
"""

from __future__ import annotations

import logging
import os
from concurrent.futures.process import BrokenProcessPool
from contextlib import closing
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import text
from sqlalchemy.orm import Session

from aggregator.clock import iso_week
from aggregator.context import Context
from aggregator.db import claims
from aggregator.dedupe import store
from aggregator.dedupe.ids import rank, story_uid
from aggregator.dedupe.index import (
    MEMBERS_KEPT,
    PARALLEL_MIN_DOCS,
    RELATED_DAYS,
    Doc,
    Match,
    Signature,
    StoryIndex,
    gc_paused,
    place,
    signatures,
)
from aggregator.dedupe.regroup import Placed, regroup
from aggregator.dedupe.store import ItemRow, StoryState
from aggregator.extract.text import html_to_text
from aggregator.log import event
from aggregator.pools import kept_pool
from aggregator.report import StageReport
from aggregator.slugs import slugify

log = logging.getLogger("aggregator.dedupe")
STAGE = "dedupe"
DEFAULT_LIMIT = 2000
# Exact-hash matching needs real text: short teasers ("Read more") hash alike across items.
MIN_HASH_WORDS = 20
ADVISORY_LOCK = 0x61676764  # "aggd": one story writer at a time across workers
JOINED_BY = {"hash": "content-hash"}  # the names a join's explanation uses for match kinds
POOL_KEY = "dedupe_signature_pool"  # where a context keeps the signature workers (ctx.extras)


@dataclass
class _Run:
    ctx: Context
    session: Session
    index: StoryIndex
    stories: dict[int, StoryState] = field(default_factory=dict)  # index key -> story
    next_temp: int = -1  # index keys of new stories are negative until they get ids
    relations: list[tuple[int, int, float]] = field(default_factory=list)
    joins: list[tuple[int, int, Match]] = field(default_factory=list)  # item, index key, match
    sources: dict[str, tuple[int, frozenset[str]]] = field(default_factory=dict)


def _source(run: _Run, name: str) -> tuple[int, frozenset[str]]:
    """Return a source's configured priority and topics (0 and none when unconfigured)."""
    known = run.sources.get(name)
    if known is None:
        configured = run.ctx.settings.source(name)
        known = run.sources[name] = (
            (configured.priority, frozenset(configured.topics)) if configured else (0, frozenset())
        )
    return known


def _load_index(run: _Run, since: datetime) -> None:
    """Fill the index with stories published since `since`: signatures, URLs, hashes, sources."""
    for row in store.stories_since(run.session, since):
        run.stories[row.id] = StoryState(
            row.id,
            row.title,
            row.published_at,
            row.week,
            row.item_count,
            row.primary_item_id,
            max(0, len(row.signature or []) - 1),
        )
        topics = frozenset(store.header(row.signature).get("topics", []))
        for sig in store.members(row.signature) or [None]:
            item = sig.item if sig is not None else 0
            run.index.add(row.id, Doc(item, row.title, "", row.published_at, topics=topics), sig)
    for story_id, source_id, url, published_at, chash, words, item in store.story_items_since(
        run.session, since
    ):
        run.stories[story_id].sources.add(source_id)
        usable_hash = chash if (words or 0) >= MIN_HASH_WORDS else None
        # Each item widens the story's time span and adds its URL and hash to the lookups.
        run.index.add(story_id, Doc(item, "", "", published_at, url, usable_hash), None)


def _doc_for(run: _Run, row: ItemRow) -> tuple[Doc, str, tuple]:
    """Return the item as a Doc (without text), its text, and its rank as a primary item."""
    priority, topics = _source(run, row.source)
    body = row.text or html_to_text(row.content_html or row.summary)
    usable_hash = row.content_hash if (row.word_count or 0) >= MIN_HASH_WORDS else None
    title = row.title or row.article_title or ""
    doc = Doc(row.id, title, "", row.published_at, row.canonical_url, usable_hash, topics)
    return doc, body, rank(priority, row.engagement, row.published_at, row.id)


def _contend(story: StoryState, item_id: int, title: str, item_rank: tuple) -> None:
    """Note an item as a primary contender if it outranks every earlier new item of the story."""
    if not story.contenders or item_rank < story.contenders[-1][0]:
        story.contenders.append((item_rank, item_id, title))


def _new_story(
    run: _Run,
    key: int,
    row: ItemRow,
    doc: Doc,
    sig: Signature,
    item_rank: tuple,
    related: list[tuple[int, float]],
) -> None:
    """Create a story (index key `key`) founded by an item; relate it to the similar earlier
    stories found."""
    story = StoryState(None, doc.title, doc.published_at, iso_week(doc.published_at), 1, row.id, 0)
    story.sources.add(row.source_id)
    story.topics |= doc.topics
    sig.item = row.id
    story.members.append(sig)
    story.items.append(row.id)
    story.founder = f"{row.source_id}:{row.guid_hash}"
    story.uid = story_uid(story.founder)
    story.slug = slugify(doc.title, fallback="story")
    _contend(story, row.id, doc.title, item_rank)
    run.stories[key] = story
    run.relations += [(key, other, score) for other, score in related]


def _join(run: _Run, match: Match, row: ItemRow, doc: Doc, sig: Signature, rank_: tuple) -> None:
    """Add an item to a matched story: counts, earliest date, primary contender, wordings."""
    story = run.stories[match.story]
    sig.item = row.id
    run.joins.append((row.id, match.story, match))
    story.items.append(row.id)
    story.item_count += 1
    story.sources.add(row.source_id)
    if doc.published_at < story.published_at:
        story.published_at = doc.published_at
        story.week = iso_week(doc.published_at)
    _contend(story, row.id, doc.title, rank_)
    story.topics |= doc.topics
    kept = story.stored_members + len(story.members)
    if match.kind == "same-event" and kept < MEMBERS_KEPT:
        story.members.append(sig)  # a new wording of the story: later items may match it


def _assign_all(run: _Run, jobs: list[tuple[int, int]], report: StageReport) -> list[int]:
    """Place the claimed items in stories; return the ids of jobs with nothing to place."""
    rows = {row.id: row for row in store.load_items(run.session, [s for _, s in jobs])}
    report.processed += len(jobs)
    skipped = [j for j, s in jobs if s not in rows or rows[s].story_id is not None]
    # Earliest first, so the first report of an event founds its story.
    ready = sorted(
        (row for row in rows.values() if row.story_id is None), key=lambda r: (r.published_at, r.id)
    )
    docs = [_doc_for(run, row) for row in ready]
    texts = [(doc.title, body) for doc, body, _ in docs]
    workers = min(2, os.cpu_count() or 1)
    big = workers > 1 and len(texts) >= PARALLEL_MIN_DOCS
    pool = (
        kept_pool(run.ctx.extras, POOL_KEY, workers, ["aggregator.dedupe.index"]) if big else None
    )
    try:
        # A big batch is hashed by the workers while this process loads the stored stories;
        # the batch's terms are counted (IDF) before any item is placed.
        with closing(signatures(texts, pool=pool)) as made:
            if ready:
                days = RELATED_DAYS + run.ctx.settings.dedupe.window_days
                _load_index(run, ready[0].published_at - timedelta(days=days))
            sigs = list(made)
            run.index.prime(sigs)
            first_entry, fixed = len(run.index._entries), set(run.index.stories)
            # Placing allocates many small dicts and lists and frees none: the cyclic
            # collector would walk the whole index again and again for nothing.
            with gc_paused():
                batch: list[Placed] = []
                found: dict[int, list[tuple[int, float]]] = {}  # item -> related stories
                for row, (doc, _, _), sig in zip(ready, docs, sigs, strict=True):
                    # The same placement as group_documents: the index learns the item here.
                    neighbours: dict[int, float] = {}
                    key = run.next_temp
                    match, related = place(run.index, doc, sig, key, True, neighbours)
                    if match is None:
                        run.next_temp -= 1
                        found[row.id] = related
                    batch.append(
                        Placed(doc, sig, key if match is None else match.story, match, neighbours)
                    )
                # The second pass over the batch (merges, moves), then the stories as placed.
                final = regroup(run.index, batch, fixed, first_entry)
            for row, (doc, _, item_rank), sig, (key, match) in zip(
                ready, docs, sigs, final, strict=True
            ):
                if match is None:
                    related = found.get(row.id)
                    if related is None:  # it joined a story at first and founds one now
                        related = run.index.related(doc, sig, exclude=key)
                    _new_story(run, key, row, doc, sig, item_rank, related)
                else:
                    _join(run, match, row, doc, sig, item_rank)
                    kinds = report.details.setdefault("matched", {})
                    kinds[match.kind] = kinds.get(match.kind, 0) + 1
    except BrokenProcessPool:
        # A worker died (killed, out of memory): this run fails, the next starts a new pool.
        run.ctx.extras.pop(POOL_KEY, None)
        raise
    report.succeeded += len(ready)
    return skipped


def _resolve_primaries(run: _Run, touched: list[StoryState]) -> None:
    """Choose each touched story's primary item: the stored one unless a new item ranks better."""
    stored = [s.primary_item_id for s in touched if s.id is not None and s.primary_item_id]
    ranks: dict[int, tuple] = {}
    for item_id, source, engagement, published_at in store.primary_items(run.session, stored):
        ranks[item_id] = rank(_source(run, source)[0], engagement, published_at, item_id)
    for story in touched:
        # A new story's founder is its first contender; a stored primary that was deleted
        # (or never set) loses to any new item.
        best = ranks.get(story.primary_item_id or 0) if story.id is not None else None
        for item_rank, item_id, title in story.contenders:
            if best is None or item_rank < best:
                best = item_rank
                story.primary_item_id = item_id
                story.title = title or story.title  # the slug and uid stay: permalinks are stable


def _unique_uids(run: _Run, new: list[StoryState]) -> None:
    """Re-derive the uid of any new story whose uid is taken (48 bits: rare, but not never)."""
    for attempt in range(1, 20):
        wanted = {story.uid: story for story in new}
        taken = store.taken_uids(run.session, list(wanted))
        clashes = [wanted[uid] for uid in taken] + [s for s in new if wanted[s.uid] is not s]
        if not clashes:
            return
        for story in clashes:
            story.uid = story_uid(story.founder, attempt)


def _finish(run: _Run, report: StageReport) -> None:
    """Store new and joined stories, item links and relations; queue new stories."""
    touched = [s for s in run.stories.values() if s.items]
    new = [s for s in touched if s.id is None]
    _resolve_primaries(run, touched)
    store.update_joined(run.session, [s for s in touched if s.id is not None])
    _unique_uids(run, new)
    store.insert_new(run.session, new)
    store.set_item_stories(
        run.session, ((item_id, s.id) for s in touched if s.id for item_id in s.items)
    )
    pairs: dict[tuple[int, int], float] = {}
    for key, other, score in run.relations:
        if other not in run.stories:
            continue  # a story of this batch that merged into another one
        a, b = run.stories[key].id, run.stories[other].id
        if a and b and a != b:
            pairs[(a, b)] = score
    # Only new stories get relations, so none of these rows can exist yet.
    store.insert_relations(run.session, pairs)
    store.insert_joins(run.session, _join_rows(run))
    claims.enqueue(run.session, "summarize", [s.id for s in new if s.id])
    report.details["stories_created"] = len(new)


def _join_rows(run: _Run) -> list[dict[str, object]]:
    """Return the item_joins rows of this run's joins (why each item joined its story)."""
    return [
        {
            "item_id": item_id,
            "story_id": run.stories[key].id,
            "joined_by": JOINED_BY.get(match.kind, match.kind),
            "score": round(float(match.score), 4),
            "matched_item_id": match.member or None,
        }
        for item_id, key, match in run.joins
        if run.stories[key].id is not None
    ]


def story_index(ctx: Context) -> StoryIndex:
    """Return an empty StoryIndex with the configured window and thresholds."""
    settings = ctx.settings.dedupe
    return StoryIndex(
        window=timedelta(days=settings.window_days),
        near_threshold=settings.near_duplicate_threshold,
        event_threshold=settings.event_threshold,
        related_threshold=settings.related_threshold,
        max_related=settings.max_related,
    )


def run_dedupe(ctx: Context, limit: int | None = None) -> StageReport:
    """Place up to `limit` extracted items in stories, in one transaction; return the counts."""
    report = StageReport(STAGE)
    with ctx.session() as session:
        if ctx.dialect == "postgresql":
            session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK})
        lease = timedelta(seconds=ctx.settings.schedule.lease)
        jobs = claims.claim_ids(session, STAGE, ctx.worker_id, limit or DEFAULT_LIMIT, lease)
        if not jobs:
            return report
        run = _Run(ctx, session, story_index(ctx))
        with ctx.progress("dedupe", len(jobs)) as task:
            skipped = _assign_all(run, jobs, report)
            task.advance(len(jobs))
        _finish(run, report)
        report.skipped += len(skipped)
        claims.complete_many(session, skipped, claims.SKIPPED)
        claims.complete_many(session, sorted({j for j, _ in jobs} - set(skipped)))
    event(
        log,
        "stories assigned",
        items=report.succeeded,
        created=report.details.get("stories_created", 0),
    )
    return report
