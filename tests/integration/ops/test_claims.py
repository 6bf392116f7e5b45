"""The work queue: enqueue once, claim with leases, retry with backoff, take over dead claims."""

from __future__ import annotations

from datetime import timedelta

import pytest

from aggregator.clock import utcnow
from aggregator.context import Context
from aggregator.db import claims
from aggregator.db.models import Job

pytestmark = pytest.mark.integration
LEASE = timedelta(minutes=10)


def test_enqueue_is_idempotent(any_ctx: Context) -> None:
    with any_ctx.session() as session:
        assert claims.enqueue(session, "extract", [3, 1, 2, 2]) == 3
        assert claims.enqueue(session, "extract", [1, 2, 3, 4]) == 1
        assert claims.queue_depths(session)["extract"] == 4


def test_claim_never_hands_out_a_job_twice(any_ctx: Context) -> None:
    with any_ctx.session() as session:
        claims.enqueue(session, "summarize", range(1, 6))
    with any_ctx.session() as session:
        first = [j.subject_id for j in claims.claim(session, "summarize", "w1", 3, LEASE)]
    with any_ctx.session() as session:
        second = [j.subject_id for j in claims.claim(session, "summarize", "w2", 10, LEASE)]
    assert len(first) == 3 and len(second) == 2
    assert not set(first) & set(second)


def test_expired_lease_is_taken_over(any_ctx: Context) -> None:
    with any_ctx.session() as session:
        claims.enqueue(session, "extract", [7])
        claims.claim(session, "extract", "dead-worker", 1, LEASE)
    with any_ctx.session() as session:
        assert claims.claim(session, "extract", "w2", 1, LEASE) == []
    later = utcnow() + LEASE + timedelta(seconds=1)
    with any_ctx.session() as session:
        taken = claims.claim(session, "extract", "w2", 1, LEASE, now=later)
        assert [j.claimed_by for j in taken] == ["w2"]
        assert taken[0].attempts == 2


def test_fail_backs_off_then_gives_up(any_ctx: Context) -> None:
    with any_ctx.session() as session:
        claims.enqueue(session, "extract", [9])
    for attempt in range(1, 4):
        with any_ctx.session() as session:
            far = utcnow() + timedelta(days=attempt * 3)
            (job,) = claims.claim(session, "extract", "w", 1, LEASE, now=far)
            claims.fail(session, job, "timeout\nsecond line", max_attempts=3, now=far)
            status, error, next_at = job.status, job.last_error, job.next_attempt_at
        if attempt < 3:
            assert status == "pending" and next_at > far
        else:
            assert status == "failed"
        assert error == "timeout"
    with any_ctx.session() as session:
        assert claims.queue_depths(session)["failed"] == 1


def test_release_does_not_count_an_attempt(any_ctx: Context) -> None:
    with any_ctx.session() as session:
        claims.enqueue(session, "summarize", [1])
        (job,) = claims.claim(session, "summarize", "w", 1, LEASE)
        claims.release(session, job)
    with any_ctx.session() as session:
        job = session.query(Job).one()
        assert (job.status, job.attempts, job.claimed_by) == ("pending", 0, None)


def test_claims_of_a_dead_local_process_are_freed_at_once(any_ctx: Context) -> None:
    import socket
    import subprocess
    import sys

    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()  # a pid that no longer exists
    host = socket.gethostname()
    with any_ctx.session() as session:
        claims.enqueue(session, "summarize", [1, 2])
        owners = {1: f"{host}:{gone.pid}:dead01", 2: f"other-host:{gone.pid}:far01"}
        for job in session.query(Job).all():
            job.status, job.claimed_by = "running", owners[job.subject_id]
            job.lease_until = utcnow() + LEASE
    with any_ctx.session() as session:
        taken = claims.claim(session, "summarize", f"{host}:1:alive1", 5, LEASE)
        # The dead local claim is free again; the other host's claim waits for its lease.
        assert [j.subject_id for j in taken] == [1]


def test_set_meta_from_two_processes_at_once_both_succeed(any_ctx: Context) -> None:
    # Two workers learn a server's output mode at the same moment: neither may fail on the key.
    import threading
    import time

    from aggregator.db.meta import get_meta, set_meta

    errors: list[BaseException] = []

    def slow_writer() -> None:
        session = any_ctx.sessions()
        try:
            set_meta(session, "race.key", "json_object|first")
            time.sleep(0.3)  # the other writer decides while this one has not committed
            session.commit()
        except BaseException as exc:  # the assertion below reports it
            errors.append(exc)
        finally:
            session.close()

    thread = threading.Thread(target=slow_writer)
    thread.start()
    time.sleep(0.1)
    with any_ctx.session() as session:
        set_meta(session, "race.key", "json_schema|second")
    thread.join()
    assert errors == []
    with any_ctx.session() as session:
        assert get_meta(session, "race.key") in ("json_object|first", "json_schema|second")
