"""The scheduler: the leader runs every stage on its interval; a follower only helps; stop is clean."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from aggregator.config import load_settings
from aggregator.context import open_context
from aggregator.db.meta import get_meta
from aggregator.db.models import Card, Item, Job
from aggregator.schedule import make_scheduler, needs_publish, run_scheduler
from tests.integration.ops.conftest import NewsSite

pytestmark = pytest.mark.integration


def test_scheduler_runs_the_pipeline_and_stops_cleanly(tmp_path: Path) -> None:
    site = NewsSite(feeds=2, per_feed=5)
    try:
        config = site.config(
            tmp_path / "aggregator.toml",
            f"sqlite:///{tmp_path / 'sched.db'}",
            schedule="[schedule]\ncollect_every = '1s'\nprocess_every = '1s'\npublish_every = '1s'",
        )
        ctx = open_context(load_settings(config, env={}))
        stop = threading.Event()
        runner = threading.Thread(target=run_scheduler, args=(ctx, stop), daemon=True)
        runner.start()
        deadline = time.monotonic() + 90
        published = None
        while time.monotonic() < deadline:
            with ctx.session() as session:
                cards = session.scalar(select(func.count()).select_from(Card))
                published = get_meta(session, "last_publish_at")
            if cards and published and not needs_publish(ctx):
                break
            time.sleep(0.2)
        stop.set()
        runner.join(timeout=60)
        assert not runner.is_alive(), "the scheduler did not stop"
    finally:
        site.stop()
    with ctx.session() as session:
        assert session.scalar(select(func.count()).select_from(Item)) == 10
        assert (
            session.scalar(select(func.count()).select_from(Job).where(Job.status == "running"))
            == 0
        )
    assert published is not None
    assert (tmp_path / "site" / "index.html").exists()
    ctx.engine.dispose()


def test_scheduler_job_defaults_do_not_skip_late_runs(ctx) -> None:
    scheduler = make_scheduler(ctx)
    defaults = scheduler._job_defaults  # APScheduler keeps them here
    assert defaults["misfire_grace_time"] >= 60
    assert defaults["coalesce"] is True and defaults["max_instances"] == 1


def test_needs_publish_follows_cards(ctx) -> None:
    assert needs_publish(ctx) is True  # never published
    from aggregator.clock import utcnow
    from aggregator.db.meta import set_meta

    with ctx.session() as session:
        set_meta(session, "last_publish_at", utcnow().isoformat())
    assert needs_publish(ctx) is False


def test_run_exits_zero_on_sigterm(tmp_path: Path) -> None:
    import signal
    import subprocess

    from tests.integration.ops.conftest import aggregator_process

    site = NewsSite(feeds=1, per_feed=3)
    try:
        config = site.config(tmp_path / "aggregator.toml", f"sqlite:///{tmp_path / 'sig.db'}")
        process = aggregator_process(config, "-v", "run", env={})
        ctx = open_context(load_settings(config, env={}))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with ctx.session() as session:
                if session.scalar(select(func.count()).select_from(Item)):
                    break
            time.sleep(0.1)
        process.send_signal(signal.SIGTERM)
        try:
            _, err = process.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
    finally:
        site.stop()
    assert process.returncode == 0, err
    assert "scheduler stopped" in err
    with ctx.session() as session:
        held = session.scalar(select(func.count()).select_from(Job).where(Job.status == "running"))
    assert held == 0  # claims were finished or given back
    ctx.engine.dispose()


def test_run_without_v_logs_one_line_per_cycle_and_on_shutdown(tmp_path: Path) -> None:
    import signal

    from tests.integration.ops.conftest import aggregator_process

    site = NewsSite(feeds=1, per_feed=3)
    try:
        config = site.config(tmp_path / "aggregator.toml", f"sqlite:///{tmp_path / 'quiet.db'}")
        process = aggregator_process(config, "run", env={})
        ctx = open_context(load_settings(config, env={}))
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            with ctx.session() as session:
                if session.scalar(select(func.count()).select_from(Card)) == 3:
                    break
            time.sleep(0.2)
        time.sleep(1)  # let the process job write its line
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=60)
    finally:
        site.stop()
    ctx.engine.dispose()
    assert process.returncode == 0, err
    lines = err.splitlines()
    collect = [line for line in lines if "msg=cycle job=collect" in line]
    assert collect and 'collect="1 ok 3 new"' in collect[0], err
    assert "next=" in collect[0]
    processed = " ".join(line for line in lines if "msg=cycle job=process" in line)
    assert 'extract="3 ok"' in processed and 'summarize="' in processed, err
    assert 'msg="scheduler stopped"' in lines[-1]
    assert len(lines) < 12, err  # a line per cycle, not per item
