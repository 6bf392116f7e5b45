"""The summarize stage's SQL for stand-in cards and the Batch API path (backlog claims, give-backs)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from aggregator.clock import utcnow
from aggregator.db import claims
from aggregator.db.models import Card, Job
from aggregator.llm.output import BudgetExceeded
from aggregator.llm.pricing import next_utc_day
from aggregator.summarize.workloop import MAX_ATTEMPTS

STAGE = "summarize"
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
