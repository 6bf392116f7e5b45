"""`aggregator worker`: claim and process pending work until stopped (scale-out on PostgreSQL)."""

from __future__ import annotations

import logging
import threading

from aggregator.context import Context
from aggregator.db.claims import release_worker
from aggregator.locks import FileLock, process_lock
from aggregator.log import event
from aggregator.pipeline import process_pending
from aggregator.schedule import install_signal_handlers

log = logging.getLogger("aggregator.worker")
IDLE_SECONDS = 5.0


class WorkerBusy(Exception):
    """A second worker on SQLite; the message is one line."""


def run_worker(
    ctx: Context, stop: threading.Event | None = None, *, exit_when_idle: bool = False
) -> int:
    """Process pending work until stopped (or idle, if asked); return units processed."""
    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        install_signal_handlers(ctx, stop)
    lock = None
    if ctx.dialect == "sqlite":
        # SQLite has one writer: one worker at a time, and a clear error for the second.
        lock = process_lock(ctx.engine, "worker")
        assert isinstance(lock, FileLock)
        if not lock.acquire():
            raise WorkerBusy(
                "worker: another worker is already running on this SQLite database "
                "(use PostgreSQL to run several)"
            )
    total = 0
    try:
        while not stop.is_set() and not ctx.stop_requested:
            reports = process_pending(ctx)
            done = sum(r.processed for r in reports)
            total += done
            if done == 0:
                if exit_when_idle:
                    break
                stop.wait(IDLE_SECONDS)
    finally:
        with ctx.session() as session:
            released = release_worker(session, ctx.worker_id)
        if lock is not None:
            lock.release()
        event(log, "worker stopped", processed=total, released_claims=released)
    return total
