"""Scale-out: three worker processes on PostgreSQL share 300 stories; a killed worker's claims
are taken over after its lease, and every story gets exactly one card."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from aggregator.context import Context
from aggregator.db.models import Card, Job, LLMCall
from tests.integration.ops.conftest import add_stories, aggregator_process
from tests.servers.openai_server import FakeOpenAI

pytestmark = pytest.mark.integration
STORIES = 300


def count(ctx: Context, model: type, *where: object) -> int:
    with ctx.session() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def kill_holding_claims(ctx: Context, victim: subprocess.Popen, deadline: float) -> int:
    """SIGKILL the worker at a moment it holds claims; return how many it held.

    Between two batches a worker holds none, so it is stopped (SIGSTOP) while its claims are
    counted: a stopped process is alive, so nobody frees them, and it cannot finish them.
    """
    while time.monotonic() < deadline:
        victim.send_signal(signal.SIGSTOP)
        # Worker ids are host:pid:random, so the victim's claims can be told apart.
        held = count(ctx, Job, Job.status == "running", Job.claimed_by.like(f"%:{victim.pid}:%"))
        if held:
            victim.send_signal(signal.SIGKILL)  # dies holding claims
            return held
        victim.send_signal(signal.SIGCONT)
        time.sleep(0.01)
    return 0


def test_three_workers_summarize_each_story_once(any_ctx: Context, tmp_path: Path) -> None:
    if any_ctx.dialect != "postgresql":
        pytest.skip("several workers need PostgreSQL (SQLite allows one)")
    add_stories(any_ctx, STORIES)
    url = any_ctx.engine.url.render_as_string(hide_password=False)
    config = tmp_path / "aggregator.toml"
    config.write_text(
        f"[database]\nurl = '{url}'\n[schedule]\nlease = '4s'\nbatch_size = 10\n"
        "[llm]\nmax_concurrency = 4\nmax_items_per_run = 1000\ndaily_budget_usd = 100.0\n"
    )
    with FakeOpenAI(delay=0.03) as llm:
        env = {"OPENAI_BASE_URL": llm.url, "OPENAI_API_KEY": "sk-test-not-a-secret"}
        workers = [aggregator_process(config, "worker", "--once", env=env) for _ in range(3)]
        deadline = time.monotonic() + 120
        while count(any_ctx, Card) < 60 and time.monotonic() < deadline:
            time.sleep(0.05)
        victim = workers[0]
        orphaned = kill_holding_claims(any_ctx, victim, deadline)
        victim.wait()
        for worker in workers[1:]:
            _, err = worker.communicate(timeout=180)
            assert worker.returncode == 0, err
        # The survivors free a dead local worker's claims at once; a rescue run finds nothing.
        rescue = aggregator_process(config, "worker", "--once", env=env)
        out, err = rescue.communicate(timeout=180)
        assert rescue.returncode == 0, err
        assert "processed 0 units" in out, out
        requests = len(llm.requests)

    assert count(any_ctx, Card) == STORIES
    assert count(any_ctx, Job, Job.stage == "summarize", Job.status == "done") == STORIES
    with any_ctx.session() as session:
        per_story = session.execute(
            select(Card.story_id, func.count()).group_by(Card.story_id).having(func.count() > 1)
        ).all()
        paid = session.execute(
            select(LLMCall.subject, func.count())
            .where(LLMCall.cached.is_(False), LLMCall.status == "ok")
            .group_by(LLMCall.subject)
            .having(func.count() > 1)
        ).all()
    assert per_story == []
    assert paid == [], "a recorded LLM call was paid twice for one story"
    # Only calls in flight in the killed worker can be repeated (their answers died with it).
    print(f"orphaned claims taken over: {orphaned}; LLM requests: {requests}")
    assert orphaned > 0, "the killed worker held no claims: the takeover was not exercised"
    assert STORIES <= requests <= STORIES + orphaned + 4 * 3
