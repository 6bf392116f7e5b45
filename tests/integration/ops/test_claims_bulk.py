"""Bulk claims (claim_ids, complete_many): the same queue rules as claim, without Job objects."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, select, update

from aggregator.clock import utcnow
from aggregator.context import Context
from aggregator.db import claims
from aggregator.db.models import Job

pytestmark = pytest.mark.integration
LEASE = timedelta(minutes=10)


def states(ctx: Context, stage: str = "dedupe") -> dict[int, tuple[Any, ...]]:
    with ctx.session() as session:
        rows = session.execute(
            select(Job.subject_id, Job.status, Job.claimed_by, Job.attempts, Job.lease_until).where(
                Job.stage == stage
            )
        )
        return {subject: tuple(rest) for subject, *rest in rows}


def test_claim_ids_hands_out_each_job_once_across_chunks(any_ctx: Context) -> None:
    subjects = range(1, 1201)  # more than two IN (...) chunks
    with any_ctx.session() as session:
        claims.enqueue(session, "dedupe", subjects)
        claims.enqueue(session, "extract", [5])
    with any_ctx.session() as session:
        first = claims.claim_ids(session, "dedupe", "w1", 1100, LEASE)
    with any_ctx.session() as session:
        second = claims.claim_ids(session, "dedupe", "w2", 1000, LEASE)
    assert len(first) == 1100 and len(second) == 100
    assert sorted(s for _, s in first + second) == list(subjects)
    assert [job for job, _ in first] == sorted(job for job, _ in first)  # queue order
    found = states(any_ctx)
    assert found[1][:3] == ("running", "w1", 1) and found[1][3] > utcnow()
    assert found[1200][:2] == ("running", "w2")
    assert states(any_ctx, "extract")[5][0] == "pending"  # another stage's work is untouched


def test_claim_ids_takes_over_an_expired_lease_only(any_ctx: Context) -> None:
    with any_ctx.session() as session:
        claims.enqueue(session, "dedupe", [1, 2])
        claims.claim_ids(session, "dedupe", "dead-worker", 1, LEASE)
    with any_ctx.session() as session:
        taken = claims.claim_ids(session, "dedupe", "w2", 5, LEASE)
        assert [s for _, s in taken] == [2]
        claims.complete_many(session, [j for j, _ in taken])
    later = utcnow() + LEASE + timedelta(seconds=1)
    with any_ctx.session() as session:
        taken = claims.claim_ids(session, "dedupe", "w3", 5, LEASE, now=later)
        assert [s for _, s in taken] == [1]
    assert states(any_ctx)[1][:3] == ("running", "w3", 2)


def test_claim_ids_skips_a_job_claimed_between_its_read_and_its_write(any_ctx: Context) -> None:
    if any_ctx.dialect == "postgresql":
        pytest.skip("PostgreSQL locks the rows a claim reads: no one can take them meanwhile")
    with any_ctx.session() as session:
        claims.enqueue(session, "dedupe", [1, 2, 3])
    with any_ctx.session() as session:
        connection = session.connection()
        done: list[bool] = []

        def rival(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            # Right after the claim's SELECT, another worker takes job 2 (as on SQLite,
            # where nothing locks the rows that were read).
            if not done and statement.lstrip().upper().startswith("SELECT JOBS.ID"):
                done.append(True)
                conn.execute(
                    update(Job)
                    .where(Job.subject_id == 2)
                    .values(status="running", claimed_by="rival", lease_until=utcnow() + LEASE)
                )

        event.listen(connection, "after_cursor_execute", rival)
        taken = claims.claim_ids(session, "dedupe", "w1", 5, LEASE)
    assert [s for _, s in taken] == [1, 3]
    assert states(any_ctx)[2][:2] == ("running", "rival")


def test_complete_many_finishes_jobs_and_drops_leases(any_ctx: Context) -> None:
    with any_ctx.session() as session:
        claims.enqueue(session, "dedupe", range(1, 701))
        taken = claims.claim_ids(session, "dedupe", "w1", 700, LEASE)
        ids = dict((s, j) for j, s in taken)
        claims.complete_many(session, [ids[s] for s in range(1, 601)])
        claims.complete_many(session, [ids[s] for s in range(601, 700)], claims.SKIPPED)
    found = states(any_ctx)
    assert found[1] == found[600] == ("done", None, 1, None)
    assert found[601] == ("skipped", None, 1, None)
    assert found[700][:2] == ("running", "w1")
