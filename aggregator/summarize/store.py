"""The summarize stage's SQL: stories in, cards and outcomes out, stand-ins, the Batch API backlog."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, func, insert, or_, select, update
from sqlalchemy.orm import Session

from aggregator.clock import utcnow
from aggregator.db import claims
from aggregator.db.models import Article, Card, Item, Job, Source, Story, StoryTopic
from aggregator.llm.output import BudgetExceeded
from aggregator.llm.pricing import next_utc_day
from aggregator.llm.store import record_calls
from aggregator.summarize.summarizer import CardResult, StoryInput, card_hash
from aggregator.summarize.workloop import MAX_ATTEMPTS, Outcome, Unit

STAGE = "summarize"
_TAGS = re.compile(r"<[^>]+>")
# Longer than the 24h completion window: no other worker takes a job while its batch runs.
BATCH_LEASE = timedelta(hours=26)


def _never_tried(now: Any) -> list[Any]:
    """Return the conditions of a ready summarize job never tried (one that failed goes live)."""
    return [Job.stage == STAGE, Job.status == claims.PENDING, Job.next_attempt_at <= now,
            Job.attempts == 0]  # fmt: skip


def backlog_size(session: Session) -> int:
    """Return how many ready summarize jobs were never tried."""
    query = select(func.count()).select_from(Job).where(*_never_tried(utcnow()))
    return int(session.scalar(query) or 0)


def claim_backlog(session: Session, worker: str, limit: int) -> list[Job]:
    """Claim up to `limit` never-tried ready jobs for a batch, best ranked first."""
    now = utcnow()
    query = (
        select(Job).where(*_never_tried(now)).order_by(Job.priority.desc(), Job.id)
        .limit(limit).with_for_update(skip_locked=True)
    )  # fmt: skip
    jobs = list(session.scalars(query))
    for job in jobs:
        job.status, job.claimed_by = claims.RUNNING, worker
        job.lease_until, job.attempts = now + BATCH_LEASE, job.attempts + 1
    return jobs


def jobs_by_id(session: Session, ids: list[int]) -> dict[int, Job]:
    """Return the jobs with these ids."""
    return {job.id: job for job in session.scalars(select(Job).where(Job.id.in_(ids)))}


def release(session: Session, job: Job) -> None:
    """Give a claimed job back untouched."""
    claims.release(session, job)


def ask_live(session: Session, job: Job, reason: str) -> None:
    """Queue a batched job for a live call now (its attempt stays counted, so no batch takes it)."""
    claims.fail(session, job, reason, retry_at=utcnow())


def give_back(
    session: Session, ids: list[int], worker: str, reason: str, *, retry_live: bool
) -> None:
    """Return a batch's jobs still held by it to the queue, ready now."""
    values: dict[str, Any] = {"status": claims.PENDING, "claimed_by": None, "lease_until": None,
                              "last_error": reason[:500], "next_attempt_at": utcnow()}  # fmt: skip
    if not retry_live:
        values["attempts"] = 0  # never sent: it may go into a later batch
    session.execute(update(Job).where(Job.id.in_(ids), Job.claimed_by == worker).values(**values))


def without_llm_cards(session: Session, stand_ins: dict[int, Any]) -> dict[int, Any]:
    """Return the stand-ins for stories that have no LLM card (one is never replaced by them)."""
    if not stand_ins:
        return {}
    llm = set(session.scalars(select(Card.story_id).where(
        Card.story_id.in_(stand_ins), Card.mode == "llm")))  # fmt: skip
    return {sid: result for sid, result in stand_ins.items() if sid not in llm}


def keep_stand_in(session: Session, job: Job, error: Exception, retry_after: float) -> str:
    """Keep the job of a story now showing an extractive stand-in: the LLM is asked again later."""
    if isinstance(error, BudgetExceeded):
        claims.release(session, job, next_attempt_at=next_utc_day())
        return "fallback"
    claims.fail(session, job, str(error), retry_at=utcnow() + timedelta(seconds=retry_after))
    # One more LLM attempt per retry period: failing again keeps the stand-in for another period.
    job.status, job.attempts = claims.PENDING, MAX_ATTEMPTS - 1
    job.next_attempt_at = utcnow() + timedelta(seconds=retry_after)
    return "fallback"


def load_stories(session: Session, story_ids: list[int]) -> dict[int, StoryInput]:
    """Return the summarizing input of each story with text: its primary item's article."""
    columns = (Story.id, Story.title, Item.title, Item.url, Item.published_at, Item.summary,
               Item.content_html, Article.text, Article.title, Source.name, Article.method,
               Item.engagement)  # fmt: skip
    query = (
        select(*columns).select_from(Story)
        .join(Item, or_(Item.id == Story.primary_item_id, Item.story_id == Story.id))
        .outerjoin(Article, Article.item_id == Item.id)
        .outerjoin(Source, Source.id == Item.source_id)
        .where(Story.id.in_(story_ids))
        # The primary item first; a story without one falls back to its oldest item.
        .order_by(Story.id, (Item.id == Story.primary_item_id).desc(), Item.id)
    )  # fmt: skip
    stories: dict[int, StoryInput] = {}
    for (
        sid,
        story_title,
        title,
        url,
        published,
        summary,
        html,
        text,
        a_title,
        source,
        method,
        engagement,
    ) in session.execute(query):
        if sid in stories:
            continue
        if not (text and text.strip()):  # no extracted text: fall back to what the feed said
            text = " ".join(_TAGS.sub(" ", summary or html or "").split())
            method = "feed"
        title = title or a_title or story_title or ""
        if text or title:
            stories[sid] = StoryInput(
                story_id=sid,
                title=title,
                text=text or title,
                source_name=source or "",
                url=url,
                published_at=published,
                method=method,
                comments=list((engagement or {}).get("top_comments") or []),
            )
    return stories


def store_cards(session: Session, results: dict[int, CardResult]) -> None:
    """Insert or update stories' cards (a new revision when content changed) and their topics."""
    existing = {row.story_id: row for row in session.scalars(
        select(Card).where(Card.story_id.in_(results)))}  # fmt: skip
    new = []
    for story_id, result in results.items():
        data = result.card.model_dump(mode="json")
        fields = {"card": data, "content_hash": card_hash(data), "updated_at": utcnow(),
                  **result.meta.model_dump()}  # fmt: skip
        row = existing.get(story_id)
        if row is None:
            new.append({"story_id": story_id, "revision": 1, "created_at": utcnow(), **fields})
        elif row.content_hash != fields["content_hash"] or row.mode != result.meta.mode:
            for key, value in fields.items():
                setattr(row, key, value)
            row.revision += 1
    if new:  # one multi-row insert: this runs for every batch of cards
        session.execute(insert(Card), new)
    session.execute(delete(StoryTopic).where(StoryTopic.story_id.in_(results)))
    topics = [{"story_id": story_id, "topic_slug": t.slug, "score": t.score}
              for story_id, result in results.items() for t in result.topics]  # fmt: skip
    if topics:
        session.execute(insert(StoryTopic), topics)


def write_batch(
    session: Session, worker: str, batch: list[tuple[Unit, Outcome]], retry_after: float
) -> list[str]:
    """Store a batch of outcomes; return what happened to each."""
    record_calls(session, [record for _, outcome in batch for record in outcome.records])
    ids = [unit.job_id for unit, _ in batch]
    jobs = {job.id: job for job in session.scalars(select(Job).where(Job.id.in_(ids)))}
    owned = {i for i, job in jobs.items()
             if job.claimed_by == worker and job.status == claims.RUNNING}  # fmt: skip
    cards = {unit.story.story_id: outcome.result for unit, outcome in batch
             if outcome.result is not None and unit.job_id in owned}  # fmt: skip
    stand_ins = {unit.story.story_id: outcome.fallback for unit, outcome in batch
                 if outcome.fallback is not None and unit.job_id in owned}  # fmt: skip
    cards.update(without_llm_cards(session, stand_ins))
    if cards:
        store_cards(session, cards)
    statuses = []
    for unit, outcome in batch:
        if unit.job_id not in owned:
            statuses.append("lost")  # our lease ran out and another worker owns the job now
        else:
            statuses.append(settle(session, jobs[unit.job_id], outcome, retry_after))
    return statuses


def settle(session: Session, job: Job, outcome: Outcome, retry_after: float) -> str:
    """Move a job on after its outcome: done, released (tomorrow if over budget) or failed."""
    if outcome.result is not None:
        claims.complete(session, job)
        return "ok"
    error = outcome.error
    if outcome.fallback is not None and error is not None:
        return keep_stand_in(session, job, error, retry_after)
    if isinstance(error, BudgetExceeded):
        claims.release(session, job, next_attempt_at=next_utc_day())
        return "budget"
    if error is None:
        claims.release(session, job)
        return "released"
    delay = claims.retry_delay(job.attempts).total_seconds()
    wait = max(delay, error.retry_after or 0.0)
    claims.fail(session, job, str(error), retry_at=utcnow() + timedelta(seconds=wait))
    return "failed"
