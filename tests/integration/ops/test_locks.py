"""Process exclusivity: one SQLite worker at a time, one scheduling leader on PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from aggregator.context import Context
from aggregator.locks import AdvisoryLock, FileLock, process_lock
from aggregator.worker import WorkerBusy, run_worker

pytestmark = pytest.mark.integration


def test_file_lock_is_exclusive_across_processes(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite.worker.lock"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(f"""
            import sys, time
            from aggregator.locks import FileLock
            lock = FileLock(__import__('pathlib').Path({str(path)!r}))
            assert lock.acquire()
            print('held', flush=True)
            time.sleep(30)
        """),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        assert FileLock(path).acquire() is False
    finally:
        holder.kill()
        holder.wait()
    # The lock dies with its process: nothing to clean up by hand.
    lock = FileLock(path)
    assert lock.acquire() is True
    lock.release()


def test_second_sqlite_worker_gets_a_clear_error(ctx: Context) -> None:
    lock = process_lock(ctx.engine, "worker")
    assert isinstance(lock, FileLock) and lock.acquire()
    try:
        with pytest.raises(WorkerBusy, match="another worker is already running"):
            run_worker(ctx, exit_when_idle=True)
    finally:
        lock.release()
    assert run_worker(ctx, stop=threading.Event(), exit_when_idle=True) == 0


def test_advisory_lock_single_leader(any_ctx: Context) -> None:
    if any_ctx.dialect != "postgresql":
        pytest.skip("advisory locks are PostgreSQL's")
    first = process_lock(any_ctx.engine, "scheduler")
    second = AdvisoryLock(any_ctx.engine, "aggregator:scheduler")
    assert isinstance(first, AdvisoryLock)
    assert first.acquire() and first.alive()
    assert second.acquire() is False
    first.release()
    assert second.acquire() is True
    second.release()


def test_lock_file_named_after_database(ctx: Context) -> None:
    lock = process_lock(ctx.engine, "worker")
    assert isinstance(lock, FileLock)
    assert lock.path.name.endswith(".worker.lock")
    assert os.path.dirname(lock.path) == os.path.dirname(ctx.engine.url.database or "")
