"""Work state: which subject still needs which stage, and who is working on it (leases)."""

from __future__ import annotations

import os
import random
import socket
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, or_, select, true, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from aggregator.db.bulk import converter, untyped
from aggregator.db.models import Job
from aggregator.db.types import utcnow

STAGES = ("extract", "dedupe", "summarize")
PENDING, RUNNING, DONE, FAILED, SKIPPED = "pending", "running", "done", "failed", "skipped"
_JOBS = Job.__table__
_UNTYPED_JOBS = untyped(_JOBS)
CHUNK = 500  # ids per IN (...) list: well below SQLite's bound-parameter limit


def enqueue(
    session: Session,
    stage: str,
    subject_ids: Iterable[int],
    priority: float = 0.0,
    *,
    reset: bool = False,
) -> int:
    """Add pending work for subjects (existing rows are left alone unless reset); return rows added."""
    ids = sorted(set(subject_ids))
    if not ids:
        return 0
    dialect = session.get_bind().dialect
    # Converted once for all rows (db/bulk.py): per row, three timestamps' processors were
    # most of the time of a large enqueue.
    now = converter(_JOBS.c.created_at, dialect)(utcnow())
    rows = [
        {
            "stage": stage,
            "subject_id": i,
            "status": PENDING,
            "priority": priority,
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
            "updated_at": now,
        }
        for i in ids
    ]
    insert = pg_insert if dialect.name == "postgresql" else sqlite_insert
    stmt = insert(_UNTYPED_JOBS)
    if reset:
        stmt = stmt.on_conflict_do_update(
            index_elements=["stage", "subject_id"],
            set_={
                "status": PENDING,
                "attempts": 0,
                "last_error": None,
                "next_attempt_at": stmt.excluded.next_attempt_at,
                "claimed_by": None,
                "lease_until": None,
            },
        )
    else:
        stmt = stmt.on_conflict_do_nothing(index_elements=["stage", "subject_id"])
    # executemany ("insertmanyvalues"): compiled once however many ids there are; a
    # literal multi-row VALUES statement costs ~0.2 ms per id to render.
    # RETURNING counts the rows really written (executemany's rowcount is -1 on psycopg).
    return len(session.execute(stmt.returning(_UNTYPED_JOBS.c.id), rows).all())


def _pid_alive(pid: int) -> bool:
    """Return True if a process with this pid exists on this host."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def reap_dead_local_claims(session: Session, host: str | None = None) -> int:
    """Free running jobs whose worker was a process on this host that no longer exists.

    Worker ids are `host:pid:random`; a claim by a dead local process need not wait
    for its lease (a `kill -9` followed by a restart resumes at once). Claims by other
    hosts are left to their leases. Returns the number of jobs freed.
    """
    host = host or socket.gethostname()
    owners = session.scalars(
        select(Job.claimed_by)
        .where(Job.status == RUNNING, Job.claimed_by.like(f"{host}:%"))
        .distinct()
    ).all()
    dead = []
    for owner in owners:
        parts = (owner or "").split(":")
        if len(parts) >= 3 and parts[1].isdigit() and not _pid_alive(int(parts[1])):
            dead.append(owner)
    if not dead:
        return 0
    result = session.execute(
        update(Job)
        .where(Job.status == RUNNING, Job.claimed_by.in_(dead))
        .values(status=PENDING, claimed_by=None, lease_until=None)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0


def _ready(stage: str, now: datetime) -> ColumnElement[bool]:
    """Return the condition for a job of a stage that may be claimed now."""
    return and_(
        Job.stage == stage,
        or_(
            and_(Job.status == PENDING, Job.next_attempt_at <= now),
            and_(Job.status == RUNNING, Job.lease_until < now),
        ),
    )


def _ready_query(session: Session, what: Any, stage: str, now: datetime, limit: int) -> Select:
    """Return the query for the next ready jobs of a stage, best first, free dead claims first.

    On PostgreSQL the rows are locked with FOR UPDATE SKIP LOCKED, so concurrent workers
    never read the same job.
    """
    reap_dead_local_claims(session)
    query = (
        select(what)
        .where(_ready(stage, now))
        .order_by(Job.priority.desc(), Job.next_attempt_at, Job.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return query


def claim(
    session: Session,
    stage: str,
    worker: str,
    limit: int,
    lease: timedelta,
    now: datetime | None = None,
) -> list[Job]:
    """Claim up to `limit` ready jobs of a stage for this worker and return them.

    Ready means pending and due, or running with an expired lease (its worker
    died). On PostgreSQL rows are locked with FOR UPDATE SKIP LOCKED so
    concurrent workers never claim the same job; SQLite serialises writers.
    The caller commits to make the claim visible.
    """
    now = now or utcnow()
    jobs = list(session.scalars(_ready_query(session, Job, stage, now, limit)))
    for job in jobs:
        job.status = RUNNING
        job.claimed_by = worker
        job.lease_until = now + lease
        job.attempts += 1
    session.flush()
    return jobs


def claim_ids(
    session: Session,
    stage: str,
    worker: str,
    limit: int,
    lease: timedelta,
    now: datetime | None = None,
) -> list[tuple[int, int]]:
    """Claim like `claim` without loading Job objects; return (job id, subject id) pairs.

    For stages that claim thousands of jobs at once: one UPDATE per 500 jobs instead of
    one ORM object and one UPDATE per job. Finish the jobs with `complete_many`.
    """
    now = now or utcnow()
    ids = list(session.scalars(_ready_query(session, Job.id, stage, now, limit)))
    postgres = session.get_bind().dialect.name == "postgresql"
    # PostgreSQL locked the rows we read. SQLite locks nothing until our first write: another
    # worker may have claimed (and finished) some of these jobs meanwhile, so check again.
    # (Only there: by id alone PostgreSQL always plans a primary-key lookup.)
    still_ready = true() if postgres else _ready(stage, now)
    subject_of: dict[int, int] = {}
    for start in range(0, len(ids), CHUNK):
        result = session.execute(
            update(Job)
            .where(Job.id.in_(ids[start : start + CHUNK]), still_ready)
            .values(
                status=RUNNING,
                claimed_by=worker,
                lease_until=now + lease,
                attempts=Job.attempts + 1,
            )
            .returning(Job.id, Job.subject_id)
            .execution_options(synchronize_session=False)
        )
        subject_of.update((job_id, subject_id) for job_id, subject_id in result)
    return [(job_id, subject_of[job_id]) for job_id in ids if job_id in subject_of]


def complete_many(session: Session, job_ids: Iterable[int], status: str = DONE) -> None:
    """Mark claimed jobs (by id) done or skipped and drop their leases, in bulk."""
    ids = list(job_ids)
    for start in range(0, len(ids), CHUNK):
        session.execute(
            update(Job)
            .where(Job.id.in_(ids[start : start + CHUNK]))
            .values(status=status, claimed_by=None, lease_until=None, last_error=None)
            .execution_options(synchronize_session=False)
        )


def complete(session: Session, job: Job, status: str = DONE) -> None:
    """Mark a claimed job done (or skipped) and drop its lease."""
    job.status = status
    job.claimed_by = None
    job.lease_until = None
    job.last_error = None


def retry_delay(attempts: int, base: float = 60.0, cap: float = 86400.0) -> timedelta:
    """Return an exponential backoff with full jitter for the given attempt count."""
    ceiling = min(cap, base * 2 ** max(0, attempts - 1))
    return timedelta(seconds=random.uniform(ceiling / 2, ceiling))


def fail(
    session: Session,
    job: Job,
    error: str,
    *,
    retry_at: datetime | None = None,
    max_attempts: int = 6,
    now: datetime | None = None,
) -> None:
    """Record a failed attempt: back to pending with a next-attempt time, or failed for good."""
    now = now or utcnow()
    job.last_error = error.strip().splitlines()[0][:500] if error.strip() else "unknown error"
    job.claimed_by = None
    job.lease_until = None
    if job.attempts >= max_attempts:
        job.status = FAILED
        return
    job.status = PENDING
    job.next_attempt_at = retry_at or now + retry_delay(job.attempts)


def release(session: Session, job: Job, *, next_attempt_at: datetime | None = None) -> None:
    """Give a claimed job back untouched (budget reached, shutdown): the attempt does not count."""
    job.status = PENDING
    job.claimed_by = None
    job.lease_until = None
    job.attempts = max(0, job.attempts - 1)
    if next_attempt_at is not None:
        job.next_attempt_at = next_attempt_at


def release_worker(session: Session, worker: str) -> int:
    """Release every job a worker still holds (on shutdown); return how many."""
    result = session.execute(
        update(Job)
        .where(Job.claimed_by == worker, Job.status == RUNNING)
        .values(status=PENDING, claimed_by=None, lease_until=None, attempts=Job.attempts - 1)
    )
    return result.rowcount or 0


def make_due_now(session: Session, now: datetime | None = None) -> int:
    """Make every pending job that waits for a retry time ready now; return how many."""
    now = now or utcnow()
    result = session.execute(
        update(Job)
        .where(Job.status == PENDING, Job.next_attempt_at > now)
        .values(next_attempt_at=now)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0


def queue_depths(session: Session) -> dict[str, int]:
    """Return pending (or running) counts per stage plus the number failed for good."""
    depths = {stage: 0 for stage in STAGES}
    rows = session.execute(
        select(Job.stage, Job.status, func.count()).group_by(Job.stage, Job.status)
    )
    failed = 0
    for stage, status, count in rows:
        if status in (PENDING, RUNNING):
            depths[stage] = depths.get(stage, 0) + count
        elif status == FAILED:
            failed += count
    depths["failed"] = failed
    return depths
