"""kill -9 during summarize, restart: every story is summarized exactly once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from aggregator.config import load_settings
from aggregator.context import open_context
from aggregator.db.models import Card, Job
from aggregator.summarize.stage import run_summarize
from tests.integration.llm.conftest import API_KEY, FAST, TOPICS, add_story, fixture_text
from tests.servers.openai_server import FakeOpenAI

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[3]
CHILD = """
import json, sys
from aggregator.config import load_settings
from aggregator.context import open_context
from aggregator.summarize.stage import run_summarize
ctx = open_context(load_settings(env={}, overrides=json.loads(sys.argv[1]), required=False))
ctx.extras["llm_client"] = json.loads(sys.argv[2])
run_summarize(ctx)
"""


def test_summarize_killed_and_restarted_summarizes_each_story_once(tmp_path: Path):
    with FakeOpenAI(delay=0.15) as server:
        overrides = {
            "database": {"url": f"sqlite:///{tmp_path / 'crash.db'}"},
            "schedule": {"lease": "1s"},
            "llm": {"base_url": server.url, "api_key": API_KEY, "model": "test-model",
                    "max_concurrency": 2, "pricing": {"test-model": {"input": 1, "output": 2}}},
            "topics": TOPICS,
        }  # fmt: skip
        settings = load_settings(
            tmp_path / "none.toml", env={}, overrides=overrides, required=False
        )
        ctx = open_context(settings)
        article = fixture_text("article_inference_pricing.txt")
        ids = [
            add_story(ctx, f"Story {i}", article.replace("Lumen", f"Lumen{i}")) for i in range(8)
        ]
        child = subprocess.Popen([sys.executable, "-c", CHILD, json.dumps(overrides),
                                  json.dumps(FAST)], cwd=tmp_path,
                                 env={**os.environ, "PYTHONPATH": str(ROOT)})  # fmt: skip
        deadline = time.monotonic() + 20
        while _cards(ctx) < 2 and time.monotonic() < deadline and child.poll() is None:
            time.sleep(0.02)
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        assert 2 <= _cards(ctx) < len(ids), "the kill must land in the middle of the run"
        time.sleep(1.1)  # the dead worker's leases run out
        report = run_summarize(ctx)
        assert report.failed == 0
        with ctx.session() as session:
            per_story = dict(session.execute(
                select(Card.story_id, func.count()).group_by(Card.story_id)
            ).all())  # fmt: skip
            revisions = set(session.scalars(select(Card.revision)))
            statuses = set(session.scalars(select(Job.status)))
        assert per_story == {i: 1 for i in ids}
        assert revisions == {1} and statuses == {"done"}
        # Only the requests in flight at the kill (at most max_concurrency) were asked twice.
        assert len(ids) <= len(server.requests) <= len(ids) + 2
        ctx.engine.dispose()


def _cards(ctx) -> int:
    with ctx.session() as session:
        return session.scalar(select(func.count()).select_from(Card)) or 0
