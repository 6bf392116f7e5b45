"""The dedupe stage: place each extracted item in a story (new, or one it duplicates or covers).

One writer at a time: on PostgreSQL a transaction-level advisory lock serialises runs, so two
workers never create two stories for the same news; SQLite serialises writers by itself.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from aggregator.context import Context
from aggregator.db import claims
from aggregator.db.models import Article, Item, Job, Source, Story, StoryRelation
from aggregator.dedupe import (
    MEMBERS_KEPT,
    RELATED_DAYS,
    Doc,
    Match,
    Signature,
    StoryIndex,
    iso_week,
    rank,
    signatures,
    slugify,
    story_uid,
)
from aggregator.extraction.text import html_to_text
from aggregator.log import event
from aggregator.pipeline.report import StageReport

log = logging.getLogger("aggregator.pipeline.dedupe")
STAGE = "dedupe"
DEFAULT_LIMIT = 2000
# Exact-hash matching needs real text: short teasers ("Read more") hash alike across items.
MIN_HASH_WORDS = 20
ADVISORY_LOCK = 0x61676764  # "aggd": one story writer at a time across workers


@dataclass
class _Loaded:
    """A story as this run knows it: the row, its sources, its primary item's rank."""

    story: Story
    sources: set[int] = field(default_factory=set)
    primary_rank: tuple | None = None
    new: bool = False


@dataclass
class _Run:
    ctx: Context
    session: Session
    index: StoryIndex
    stories: dict[int, _Loaded] = field(default_factory=dict)
    next_temp: int = -1
    relations: list[tuple[int, int, float]] = field(default_factory=list)


def _header(story: Story) -> dict[str, Any]:
    sig = story.signature or []
    return sig[0] if sig and isinstance(sig[0], dict) and "v" in sig[0] else {"v": 1}


def _members(story: Story) -> list[Signature]:
    return [Signature.from_json(m) for m in (story.signature or [])[1:] if isinstance(m, dict)]


def _load_index(run: _Run, since: datetime) -> None:
    """Fill the index with stories published since `since`: signatures, URLs, hashes, sources."""
    query = select(Story).where(Story.published_at >= since).order_by(Story.published_at)
    for story in run.session.scalars(query):
        run.stories[story.id] = _Loaded(story)
        topics = frozenset(_header(story).get("topics", []))
        doc = Doc(0, story.title, "", story.published_at, topics=topics)
        for sig in _members(story) or [None]:
            run.index.add(story.id, doc, sig)
    rows = run.session.execute(
        select(
            Item.story_id,
            Item.source_id,
            Item.canonical_url,
            Item.published_at,
            Article.content_hash,
            Article.word_count,
        )
        .join(Story, Story.id == Item.story_id)
        .outerjoin(Article, Article.item_id == Item.id)
        .where(Story.published_at >= since)
    )
    for story_id, source_id, url, published_at, chash, words in rows:
        run.stories[story_id].sources.add(source_id)
        usable_hash = chash if (words or 0) >= MIN_HASH_WORDS else None
        # Each item widens the story's time span and adds its URL and hash to the lookups.
        run.index.add(story_id, Doc(0, "", "", published_at, url, usable_hash), None)


def _doc_for(
    ctx: Context, item: Item, article: Article | None, source: Source
) -> tuple[Doc, tuple]:
    configured = ctx.settings.source(source.name)
    priority = configured.priority if configured else 0
    topics = frozenset(configured.topics) if configured else frozenset()
    body = (
        article.text
        if article and article.text
        else html_to_text(item.content_html or item.summary)
    )
    usable_hash = article.content_hash if article and article.word_count >= MIN_HASH_WORDS else None
    title = item.title or (article.title if article else "") or ""
    doc = Doc(item.id, title, body, item.published_at, item.canonical_url, usable_hash, topics)
    return doc, rank(priority, item.engagement, item.published_at, item.id)


def _new_story(run: _Run, item: Item, doc: Doc, sig: Signature, item_rank: tuple) -> None:
    """Create a story for an item that matches none; relate it to similar earlier stories."""
    key = run.next_temp
    run.next_temp -= 1
    uid = story_uid(f"{item.source_id}:{item.guid_hash}")
    header = {"v": 1, "topics": sorted(doc.topics)}
    story = Story(
        uid=uid,
        slug=slugify(doc.title),
        title=doc.title,
        published_at=doc.published_at,
        week=iso_week(doc.published_at),
        item_count=1,
        source_count=1,
        primary_item_id=item.id,
        signature=[header, sig.to_json()],
    )
    run.session.add(story)
    story.items.append(item)
    run.stories[key] = _Loaded(story, {item.source_id}, item_rank, new=True)
    run.relations += [(key, other, score) for other, score in run.index.related(doc, sig)]
    run.index.add(key, doc, sig)


def _join(run: _Run, match: Match, item: Item, doc: Doc, sig: Signature, item_rank: tuple) -> None:
    """Add an item to a matched story: counts, earliest date, primary item, member signatures."""
    loaded = run.stories[match.story]
    story = loaded.story
    if loaded.new:
        story.items.append(item)
    else:
        item.story_id = story.id
    story.item_count += 1
    loaded.sources.add(item.source_id)
    story.source_count = len(loaded.sources)
    if doc.published_at < story.published_at:
        story.published_at = doc.published_at
        story.week = iso_week(doc.published_at)
    if loaded.primary_rank is None and story.primary_item_id is not None:
        loaded.primary_rank = _rank_of(run, story.primary_item_id)
    if loaded.primary_rank is None or item_rank < loaded.primary_rank:
        loaded.primary_rank = item_rank
        story.primary_item_id = item.id
        story.title = doc.title or story.title  # the slug and uid stay: permalinks are stable
    header = dict(_header(story))
    header["topics"] = sorted(set(header.get("topics", [])) | doc.topics)
    members = list(story.signature or [])[1:]
    if match.kind == "same-event" and len(members) < MEMBERS_KEPT:
        members.append(sig.to_json())  # a new wording of the story: later items may match it
    story.signature = [header, *members]
    run.index.add(match.story, doc, sig if match.kind == "same-event" else None)


def _rank_of(run: _Run, item_id: int) -> tuple | None:
    row = run.session.execute(
        select(Item, Source).join(Source, Source.id == Item.source_id).where(Item.id == item_id)
    ).first()
    if row is None:
        return None
    item, source = row
    configured = run.ctx.settings.source(source.name)
    return rank(
        configured.priority if configured else 0, item.engagement, item.published_at, item.id
    )


def _unique_uids(run: _Run, new: list[_Loaded]) -> None:
    """Re-derive the uid of any new story whose uid is taken (48 bits: rare, but not never)."""
    for attempt in range(1, 20):
        wanted = {loaded.story.uid: loaded for loaded in new}
        taken: set[str] = set()
        uids = list(wanted)
        for start in range(0, len(uids), 500):
            chunk = uids[start : start + 500]
            taken |= set(run.session.scalars(select(Story.uid).where(Story.uid.in_(chunk))))
        clashes = [wanted[uid] for uid in taken] + [
            loaded for loaded in new if wanted[loaded.story.uid] is not loaded
        ]
        if not clashes:
            return
        for loaded in clashes:
            item = min(loaded.story.items, key=lambda i: i.published_at)
            loaded.story.uid = story_uid(f"{item.source_id}:{item.guid_hash}", attempt)


def _finish(run: _Run, report: StageReport) -> None:
    """Flush new stories, link primaries and relations, queue new stories for summarizing."""
    new = [loaded for loaded in run.stories.values() if loaded.new]
    with run.session.no_autoflush:
        _unique_uids(run, new)
    run.session.flush()
    ids = {key: loaded.story.id for key, loaded in run.stories.items()}
    pairs: dict[tuple[int, int], float] = {}
    for key, other, score in run.relations:
        if ids.get(key) and ids.get(other) and ids[key] != ids[other]:
            pairs[(ids[key], ids[other])] = score
    # Only new stories get relations, so none of these rows can exist yet.
    run.session.add_all(
        StoryRelation(story_id=a, related_story_id=b, score=score)
        for (a, b), score in pairs.items()
    )
    claims.enqueue(run.session, "summarize", [loaded.story.id for loaded in new])
    report.details["stories_created"] = len(new)


def _assign_all(run: _Run, jobs: list[Job], report: StageReport) -> None:
    rows = run.session.execute(
        select(Item, Article, Source)
        .join(Source, Source.id == Item.source_id)
        .outerjoin(Article, Article.item_id == Item.id)
        .where(Item.id.in_([j.subject_id for j in jobs]))
    ).all()
    by_id = {row[0].id: row for row in rows}
    ready = []
    for job in jobs:
        report.processed += 1
        row = by_id.get(job.subject_id)
        if row is None or row[0].story_id is not None:  # deleted, or placed by an earlier run
            claims.complete(run.session, job, claims.SKIPPED)
            report.skipped += 1
        else:
            ready.append((job, *row))
    # Earliest first, so the first report of an event founds its story.
    ready.sort(key=lambda r: (r[1].published_at, r[1].id))
    docs = [_doc_for(run.ctx, item, article, source) for _, item, article, source in ready]
    sigs = signatures([(doc.title, doc.text) for doc, _ in docs], min(2, os.cpu_count() or 1))
    for (job, item, _, _), (doc, item_rank), sig in zip(ready, docs, sigs, strict=True):
        match = run.index.match(doc, sig)
        if match is None:
            _new_story(run, item, doc, sig, item_rank)
        else:
            _join(run, match, item, doc, sig, item_rank)
            kinds = report.details.setdefault("matched", {})
            kinds[match.kind] = kinds.get(match.kind, 0) + 1
        claims.complete(run.session, job)
        report.succeeded += 1


def run_dedupe(ctx: Context, limit: int | None = None) -> StageReport:
    """Place up to `limit` extracted items in stories, in one transaction; return the counts."""
    report = StageReport(STAGE)
    settings = ctx.settings.dedupe
    with ctx.session() as session:
        if ctx.dialect == "postgresql":
            session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK})
        lease = timedelta(seconds=ctx.settings.schedule.lease)
        jobs = claims.claim(session, STAGE, ctx.worker_id, limit or DEFAULT_LIMIT, lease)
        if not jobs:
            return report
        index = StoryIndex(
            window=timedelta(days=settings.window_days),
            near_threshold=settings.near_duplicate_threshold,
            event_threshold=settings.event_threshold,
            related_threshold=settings.related_threshold,
            max_related=settings.max_related,
        )
        run = _Run(ctx, session, index)
        earliest = session.scalar(
            select(Item.published_at)
            .where(Item.id.in_([j.subject_id for j in jobs]))
            .order_by(Item.published_at)
            .limit(1)
        )
        if earliest is not None:
            _load_index(run, earliest - timedelta(days=RELATED_DAYS + settings.window_days))
        with ctx.progress("dedupe", len(jobs)) as task, session.no_autoflush:
            _assign_all(run, jobs, report)
            task.advance(len(jobs))
        _finish(run, report)
    event(
        log,
        "stories assigned",
        items=report.succeeded,
        created=report.details.get("stories_created", 0),
    )
    return report
