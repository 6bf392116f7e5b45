"""The scheduler (`aggregator run`): APScheduler jobs that only call pipeline functions."""

from __future__ import annotations

import logging
import signal
import threading
from datetime import datetime
from functools import partial
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
from aggregator.report import StageReport

log = logging.getLogger("aggregator.schedule")
# Runs that are late by less than this still run (APScheduler's default of 1 s silently
# skips a run whenever the previous job overran).
MISFIRE_GRACE = 600
LEADER_RETRY_SECONDS = 15
# The level of the scheduler's cycle and shutdown lines, shown without -v.
CYCLE = logging.INFO


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


def cycle_line(name: str, result: Any, next_run: datetime | None) -> dict[str, Any] | None:
    """Return the fields of a job's cycle line (what ran, counts, next wake-up), or None.

    Collect always reports (it is the service's heartbeat); the other jobs only when they
    did some work, so an idle service writes one line per collect interval.
    """
    reports = [r for r in (result if isinstance(result, list) else [result]) if r is not None]
    worked = [r for r in reports if isinstance(r, StageReport) and (r.processed or r.succeeded)]
    if name != "collect" and not worked:
        return None
    fields: dict[str, Any] = {"job": name}
    for report in reports if name == "collect" else worked:
        counts = f"{report.succeeded} ok"
        if report.failed:
            counts += f" {report.failed} failed"
        if report.stage == "collect":
            counts += f" {report.details.get('new_items', 0)} new"
        fields[report.stage] = counts
    fields["next"] = next_run.isoformat(timespec="seconds") if next_run else "none"
    return fields


def _guarded(ctx: Context, name: str, func_: Any, next_run: Any = lambda: None) -> Any:
    """Wrap a job so its cycle is logged and a stage failure never kills the scheduler."""

    def job() -> None:
        if ctx.stop_requested:
            return
        try:
            fields = cycle_line(name, func_(), next_run())
            if fields:
                event(log, "cycle", level=CYCLE, **fields)
        except Exception as exc:
            event(
                log,
                "job failed",
                level=logging.ERROR,
                job=name,
                error=str(exc).splitlines()[0] if str(exc) else type(exc).__name__,
            )

    return job


def weekly_recap(ctx: Context) -> list[StageReport]:
    """Write the recap, publish the site, send the email: in that order; return the reports."""
    reports = [run_stage(ctx, "recap"), run_stage(ctx, "publish")]
    if ctx.settings.email.enabled:
        reports.append(run_stage(ctx, "deliver"))
    return reports


def add_jobs(scheduler: BackgroundScheduler, ctx: Context) -> None:
    """Register the leader's jobs: collect, process, publish (debounced), recap, housekeeping."""
    s = ctx.settings.schedule
    from aggregator.housekeeping import run_housekeeping

    def publish_if_changed() -> StageReport | None:
        return run_stage(ctx, "publish") if needs_publish(ctx) else None

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
            _guarded(ctx, name, func_, partial(_next_run, trigger, scheduler.timezone)),
            trigger,
            id=name,
            name=name,
            next_run_time=first or trigger.get_next_fire_time(None, now),
        )


def _next_run(trigger: Any, zone: Any) -> datetime | None:
    """Return when a trigger fires next after now.

    Computed from the trigger alone: asking the scheduler would take its locks from inside
    a job, which a shutdown waiting for that job must never depend on.
    """
    return trigger.get_next_fire_time(None, datetime.now(zone))


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
        event(log, "stopping", level=CYCLE, signal=signal.Signals(signum).name)
        ctx.stop_requested = True
        stop.set()

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)


def run_scheduler(ctx: Context, stop: threading.Event | None = None) -> None:
    """Run until stopped: the leader schedules every job; followers process pending work."""
    stop = stop or threading.Event()
    if log.getEffectiveLevel() > CYCLE:
        # A service says it is alive without -v: one line per cycle, one on shutdown.
        log.setLevel(CYCLE)
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
        event(log, "scheduler stopped", level=CYCLE, released_claims=released)
