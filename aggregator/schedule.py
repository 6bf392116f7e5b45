"""The scheduler (`aggregator run`): APScheduler jobs that only call pipeline functions."""

from __future__ import annotations

import logging
import signal
import threading
from datetime import datetime
from typing import Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import func, select

from aggregator.context import Context
from aggregator.db.claims import release_worker
from aggregator.db.meta import get_meta
from aggregator.db.models import Card, Recap
from aggregator.locks import process_lock
from aggregator.log import event
from aggregator.pipeline import process_pending, run_stage

log = logging.getLogger("aggregator.schedule")
# Runs that are late by less than this still run (APScheduler's default of 1 s silently
# skips a run whenever the previous job overran).
MISFIRE_GRACE = 600
LEADER_RETRY_SECONDS = 15


def needs_publish(ctx: Context) -> bool:
    """Return True when a card or recap changed after the last publish."""
    with ctx.session() as session:
        last = get_meta(session, "last_publish_at")
        newest = max(
            (
                t
                for t in (
                    session.scalar(select(func.max(Card.updated_at))),
                    session.scalar(select(func.max(Recap.created_at))),
                )
                if t
            ),
            default=None,
        )
    if newest is None:
        return last is None
    if last is None:
        return True
    return newest > datetime.fromisoformat(last.replace("Z", "+00:00"))


def _guarded(ctx: Context, name: str, func_: Any) -> Any:
    """Wrap a job so a stage failure is logged, never kills the scheduler."""

    def job() -> None:
        if ctx.stop_requested:
            return
        try:
            func_()
        except Exception as exc:
            event(
                log,
                "job failed",
                level=logging.ERROR,
                job=name,
                error=str(exc).splitlines()[0] if str(exc) else type(exc).__name__,
            )

    return job


def weekly_recap(ctx: Context) -> None:
    """Write the recap, publish the site, send the email: in that order."""
    run_stage(ctx, "recap")
    run_stage(ctx, "publish")
    if ctx.settings.email.enabled:
        run_stage(ctx, "deliver")


def add_jobs(scheduler: BackgroundScheduler, ctx: Context) -> None:
    """Register the leader's jobs: collect, process, publish (debounced), recap, housekeeping."""
    s = ctx.settings.schedule
    from aggregator.housekeeping import run_housekeeping

    def publish_if_changed() -> None:
        if needs_publish(ctx):
            run_stage(ctx, "publish")

    jobs = [
        ("collect", lambda: run_stage(ctx, "collect"), IntervalTrigger(seconds=s.collect_every)),
        ("process", lambda: process_pending(ctx), IntervalTrigger(seconds=s.process_every)),
        ("publish", publish_if_changed, IntervalTrigger(seconds=s.publish_every)),
        (
            "recap",
            lambda: weekly_recap(ctx),
            CronTrigger(day_of_week=s.recap_day, hour=s.recap_hour, timezone=s.timezone),
        ),
        (
            "housekeeping",
            lambda: run_housekeeping(ctx),
            IntervalTrigger(seconds=s.housekeeping_every),
        ),
    ]
    now = datetime.now(scheduler.timezone)
    for name, func_, trigger in jobs:
        # Interval jobs start at once; the weekly recap waits for its hour.
        first = None if name == "recap" else now
        scheduler.add_job(
            _guarded(ctx, name, func_),
            trigger,
            id=name,
            name=name,
            next_run_time=first or trigger.get_next_fire_time(None, now),
        )


def make_scheduler(ctx: Context) -> BackgroundScheduler:
    """Return a scheduler whose jobs run one at a time, coalesced, with a generous misfire grace."""
    return BackgroundScheduler(
        executors={"default": ThreadPoolExecutor(1)},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": MISFIRE_GRACE},
        timezone=ctx.settings.schedule.timezone,
    )


def install_signal_handlers(ctx: Context, stop: threading.Event) -> None:
    """Make SIGINT/SIGTERM finish the unit in hand, then stop."""

    def handler(signum: int, _frame: Any) -> None:
        event(log, "stopping", signal=signal.Signals(signum).name)
        ctx.stop_requested = True
        stop.set()

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)


def run_scheduler(ctx: Context, stop: threading.Event | None = None) -> None:
    """Run until stopped: the leader schedules every job; followers process pending work."""
    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        install_signal_handlers(ctx, stop)
    lock = process_lock(ctx.engine, "scheduler")
    scheduler = make_scheduler(ctx)
    scheduler.start()
    leader = False
    try:
        while not stop.is_set():
            if not leader and lock.acquire():
                leader = True
                event(log, "scheduler leader", worker=ctx.worker_id)
                add_jobs(scheduler, ctx)
            elif not leader:
                # A follower helps with pending work until the leader dies.
                _guarded(ctx, "process", lambda: process_pending(ctx))()
            stop.wait(LEADER_RETRY_SECONDS if not leader else 1)
    finally:
        ctx.stop_requested = True
        scheduler.shutdown(wait=True)
        with ctx.session() as session:
            released = release_worker(session, ctx.worker_id)
        lock.release()
        event(log, "scheduler stopped", released_claims=released)
