"""A developing story end to end: day 1 card, day 2 revision, signed webhook, kill -9, corrections."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
from sqlalchemy import create_engine, text

from tests.servers.feed_server import FeedServer
from tests.servers.webhook_server import WebhookReceiver

pytestmark = pytest.mark.integration
SECRET = "test-signing-key"
ATOM = "{http://www.w3.org/2005/Atom}"
DAY1 = (
    "The Riverside city council voted on Tuesday to build a flood barrier along the old harbor, "
    "ending a debate that had run for three years. The barrier will stretch 1.2 kilometres from "
    "the ferry terminal to the grain silos and is designed to hold back a storm surge of up to "
    "three metres. Council members approved the plan by seven votes to two after engineers "
    "presented new tide records from the past decade. Construction is scheduled to start in the "
    "spring and the city expects the work to take about two years. Residents of the harbor "
    "district have flooded four times since 2019, and local shop owners said the vote came as a "
    "relief."
)
NEW_FACT = (
    "The regional water authority confirmed on Wednesday that it will pay 40 percent of the "
    "85 million euro cost from its climate adaptation fund."
)
DAY2 = (
    "The Riverside city council approved a flood barrier along the old harbor on Tuesday, by "
    f"seven votes to two. The barrier will run 1.2 kilometres from the ferry terminal to the "
    f"grain silos. {NEW_FACT} Engineers said the design can hold back a storm surge of up to "
    "three metres."
)


def _rss(server: FeedServer, title: str, entries: list[tuple[str, str, str, datetime]]) -> bytes:
    items = "".join(
        f"<item><title>{t}</title><link>{server.url(path)}</link><guid>{path}</guid>"
        f"<pubDate>{format_datetime(when)}</pubDate><description>{text}</description></item>"
        for t, path, text, when in entries
    )
    return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>{title}</title>'
            f"<link>{server.url('/')}</link>{items}</channel></rss>").encode()  # fmt: skip


def _page(title: str, text: str) -> bytes:
    return (f"<html><head><title>{title}</title></head><body><article><h1>{title}</h1>"
            f"<p>{text}</p></article></body></html>").encode()  # fmt: skip


def _cli(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AGGREGATOR_CONFIG": str(config)}
    env.pop("AGGREGATOR_DATABASE_URL", None)
    return subprocess.run([sys.executable, "-m", "aggregator", *args], env=env, text=True,
                          capture_output=True, timeout=240, check=True)  # fmt: skip


def _api(site: Path) -> dict[str, Any]:
    items = json.loads((site / "api/items.json").read_text())["items"]
    assert len(items) == 1, [i["title"] for i in items]
    return items[0]


def _atom_entry(site: Path, rel: str) -> list[ElementTree.Element]:
    return ElementTree.parse(site / rel).getroot().findall(f"{ATOM}entry")


def _signed(headers: dict[str, str], body: bytes) -> bool:
    want = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(headers.get("x-aggregator-signature", ""), want)


def test_developing_story_revision_webhook_and_corrections(tmp_path: Path, db_url: str) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    receiver = WebhookReceiver()
    site = tmp_path / "site"
    with FeedServer() as server:
        a1 = ("Riverside council approves new flood barrier for the old harbor", "/a/barrier.html",
              DAY1, now - timedelta(days=1))  # fmt: skip
        b1 = ("Riverside council approves flood barrier for old harbor", "/b/barrier.html", DAY2,
              now - timedelta(hours=1))  # fmt: skip
        server.add("/a.xml", _rss(server, "Harbor Wire", [a1]))
        server.add("/b.xml", _rss(server, "Coastal Ledger", []))
        for title, path, text, _ in (a1, b1):
            server.add(path, _page(title, text), content_type="text/html; charset=utf-8")
        config = tmp_path / "aggregator.toml"
        config.write_text(f"""
[site]
output_dir = "{site}"
base_url = "http://127.0.0.1:8000/"
search = false
[database]
url = "{db_url}"
[fetch]
allow_private_networks = true
[[sources]]
kind = "rss"
name = "Harbor Wire"
url = "{server.url("/a.xml")}"
[[sources]]
kind = "rss"
name = "Coastal Ledger"
url = "{server.url("/b.xml")}"
[[webhooks]]
url = "{receiver.url}"
events = ["revised", "corrected"]
secret = "{SECRET}"
""")
        # Day 1: one source, one article: revision 1, no webhook (nothing was revised).
        _cli(config, "run", "--once")
        first = _api(site)
        assert first["revision"] == 1 and first["whats_new"] == []
        page = next(site.glob("items/*/*/*/index.html"))
        entry = _atom_entry(site, "feeds/items.xml")[0]
        entry_id, updated1 = entry.findtext(f"{ATOM}id"), entry.findtext(f"{ATOM}updated")
        assert receiver.got == []

        # Day 2: a second source reports the same event with one new fact.
        server.add("/b.xml", _rss(server, "Coastal Ledger", [b1]))
        time.sleep(1.1)  # Atom times have whole seconds: the revision must be visibly later
        _cli(config, "collect", "--force")
        receiver.hang.set()
        env = {**os.environ, "AGGREGATOR_CONFIG": str(config)}
        proc = subprocess.Popen([sys.executable, "-m", "aggregator", "run", "--once"], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        deadline = time.monotonic() + 180
        while not receiver.got and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.1)
        assert receiver.got, "the day-2 run sent no webhook"
        os.kill(proc.pid, signal.SIGKILL)  # killed while the delivery is in flight
        proc.wait()
        receiver.hang.clear()
        _cli(config, "run", "--once")  # the rerun delivers the same event again

    assert len(receiver.got) == 2
    (h1, body1), (h2, body2) = receiver.got
    assert h1["x-aggregator-idempotency-key"] == h2["x-aggregator-idempotency-key"]
    assert body1 == body2 and _signed(h1, body1) and _signed(h2, body2)
    payload = json.loads(body2)
    assert payload["event"] == "revised" and payload["revision"] == 2

    second = _api(site)
    assert second["id"] == first["id"] and second["permalink"] == first["permalink"]
    assert second["revision"] == 2
    assert [r["reason"] for r in second["revisions"]] == ["first", "new_sources"]
    facts = [p for p in second["whats_new"] if NEW_FACT in p["text"]]
    assert facts and facts[0]["citations"] == [facts[0]["text"]]
    assert facts[0]["source"]["name"] == "Coastal Ledger"
    assert sorted(site.glob("items/*/*/*/index.html")) == [page]  # same page, not a repost
    html = page.read_text()
    assert "What's new (revision 2)" in html and "40 percent of the 85 million euro" in html
    assert 'id="revision-1"' in html and "Update history" in html
    entry = _atom_entry(site, "feeds/items.xml")[0]
    assert entry.findtext(f"{ATOM}id") == entry_id
    assert entry.findtext(f"{ATOM}updated") > updated1
    updates = _atom_entry(site, "feeds/updates.xml")
    assert [e.findtext(f"{ATOM}id") for e in updates] == [f"{entry_id}#revision-2"]
    changed = json.loads(_export_updated(config, "1h"))
    assert [r["id"] for r in changed] == [first["id"]] and changed[0]["revision"] == 2

    # The week's recap lists the developing story once (its card as last revised).
    _cli(config, "recap", "--week", first["week"])
    assert _recap_story_ids(db_url, first["week"]) == [1]

    # A correction, then a retraction: page notice, corrections feed, API, webhook.
    _cli(config, "correct", first["id"], "--note", "The barrier is 1.4 kilometres long.")
    api = _api(site)
    assert api["revision"] == 3 and api["corrections"][0]["kind"] == "correction"
    assert "The barrier is 1.4 kilometres long." in page.read_text()
    fixes = _atom_entry(site, "feeds/corrections.xml")
    assert [e.findtext(f"{ATOM}id") for e in fixes] == [f"{entry_id}#revision-3"]
    _cli(config, "correct", first["id"], "--retract", "--note", "The vote was postponed.")
    api = _api(site)
    assert [c["kind"] for c in api["corrections"]] == ["correction", "retraction"]
    html = page.read_text()
    assert "Withdrawn" in html and "The vote was postponed." in html
    assert "30-second TL;DR" not in html  # the withdrawn card's text is no longer presented
    assert len(_atom_entry(site, "feeds/corrections.xml")) == 2
    _cli(config, "recap", "--week", first["week"])  # a withdrawn card leaves the recap
    assert _recap_story_ids(db_url, first["week"]) == []
    events = [json.loads(b)["event"] for _, b in receiver.got[2:]]
    assert events == ["corrected", "corrected"]
    bad = subprocess.run([sys.executable, "-m", "aggregator", "correct", "nope", "--note", "x"],
                         env={**os.environ, "AGGREGATOR_CONFIG": str(config)},
                         capture_output=True, text=True)  # fmt: skip
    assert bad.returncode != 0 and "correct: no published story with id 'nope'" in bad.stderr


def _export_updated(config: Path, window: str) -> str:
    """Return `export --updated-since` output (issue 15 adds the option; --since until merged)."""
    help_text = _cli(config, "export", "--help").stdout
    option = "--updated-since" if "--updated-since" in help_text else "--since"
    return _cli(config, "export", option, window).stdout


def _recap_story_ids(db_url: str, week: str) -> list[int]:
    """Return the story ids of the week's latest recap revision."""
    engine = create_engine(db_url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.connect() as db:
        row = db.execute(
            text("SELECT story_ids FROM recaps WHERE week = :w ORDER BY revision DESC LIMIT 1"),
            {"w": week},
        ).fetchone()
    engine.dispose()
    if row is None:
        return []
    return row[0] if isinstance(row[0], list) else json.loads(row[0])
