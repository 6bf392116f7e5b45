"""`aggregator extract` as a user runs it: it drains the whole queue, or stops at --limit."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from aggregator.config import load_settings
from aggregator.context import open_context
from aggregator.db.claims import queue_depths
from aggregator.db.models import Article
from tests.integration.extract.conftest import HTML, item_factory
from tests.servers.feed_server import FeedServer

pytestmark = pytest.mark.integration
QUEUED = 120  # more than two batches of the default batch_size (50)


def page(number: int) -> str:
    """Return a small article page of our own words, distinct per number."""
    words = " ".join(f"harbour{number}word{i}" for i in range(90))
    return (
        f"<!doctype html><html><head><title>Tide table {number}</title></head><body>"
        f"<article><h1>Tide table {number}</h1><p>{words}.</p></article></body></html>"
    )


def extract_cli(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "aggregator", "--config", str(config), "extract", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={"PATH": "/usr/bin:/bin", "HOME": str(config.parent)},
    )


@pytest.mark.parametrize("limit", [None, 70])
def test_extract_command_drains_the_queue(tmp_path: Path, limit: int | None) -> None:
    config = tmp_path / "aggregator.toml"
    config.write_text(
        f'[database]\nurl = "sqlite:///{tmp_path / "drain.db"}"\n'
        "[fetch]\nallow_private_networks = true\nrespect_robots = false\n",
        encoding="utf-8",
    )
    ctx = open_context(load_settings(config, env={}))
    make = item_factory(ctx)
    with FeedServer() as server:
        for number in range(QUEUED):
            url = server.add(f"/tide/{number}", page(number), content_type=HTML)
            make("Wire", url, hours=number, title=f"Tide table {number}")
        args = ("--limit", str(limit)) if limit else ()
        result = extract_cli(config, *args)
    assert result.returncode == 0, result.stderr
    done = limit or QUEUED
    assert result.stdout.splitlines()[0].startswith(f"extract: {done} ok"), result.stdout
    with ctx.session() as session:
        assert queue_depths(session)["extract"] == QUEUED - done
        assert queue_depths(session)["dedupe"] == 0  # dedupe drained too
        assert session.scalar(select(func.count()).select_from(Article)) == done
    ctx.engine.dispose()
