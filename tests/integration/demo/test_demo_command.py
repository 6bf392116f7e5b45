"""`aggregator demo`, the README's first command: offline, from nothing, a complete site."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import feedparser
import pytest

pytestmark = pytest.mark.integration


def test_demo_builds_a_complete_site_offline(tmp_path: Path) -> None:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AGGREGATOR_", "OPENAI_", "REDDIT_"))
    }
    result = subprocess.run(
        [sys.executable, "-m", "aggregator", "demo", "--dir", str(tmp_path)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    summary = re.search(
        r"demo: (\d+) sources, (\d+) items, (\d+) stories, (\d+) cards, "
        r"(\d+) recaps",
        result.stdout,
    )
    assert summary, result.stdout
    sources, items, stories, cards, recaps = map(int, summary.groups())
    assert sources >= 5 and items >= 30 and recaps >= 1
    assert cards == stories and stories < items  # duplicates were grouped into stories
    assert "offline extractive mode" in result.stdout
    # Health reporting shows the broken feed and the dead link.
    assert "Ferrite Weekly" in result.stdout and "HTTP 404" in result.stdout

    site = tmp_path / "site"
    pages = list((site / "items").glob("*/*/*/index.html"))
    assert len(pages) == stories
    page = pages[0].read_text(encoding="utf-8")
    assert "Extractive summary, no AI" in page and "30-second TL;DR" in page
    recap_pages = [p for p in (site / "recaps").glob("*-W*/index.html")]
    assert recap_pages
    listing = json.loads((site / "api" / "items.json").read_text(encoding="utf-8"))
    assert listing["total"] == stories
    assert all(record["mode"] == "extractive" for record in listing["items"])
    multi = [r for r in listing["items"] if r["coverage"]["source_count"] > 1]
    assert multi, "the duplicate story should be covered by several sources"
    for feed in ("feeds/items.xml", "feeds/recaps.xml"):
        parsed = feedparser.parse((site / feed).read_bytes())
        assert not parsed.bozo and parsed.entries, feed
    # Non-ASCII survives end to end (a source named Ångström Notes).
    assert "Ångström" in (site / "index.html").read_text(encoding="utf-8") or any(
        "Ångström" in p.read_text(encoding="utf-8") for p in pages
    )
