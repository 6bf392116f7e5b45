"""Feeds round-trip through feedparser; every API file validates; export gives the same records."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import feedparser
import pytest

from aggregator.context import Context
from aggregator.publish.export import write_records
from aggregator.publish.stage import export_records, run_publish
from tests.integration.publish.conftest import BASE_TIME, make_card

pytestmark = pytest.mark.integration
jsonschema = pytest.importorskip("jsonschema")
BASE = "http://127.0.0.1:8000/"


@pytest.fixture
def stories(factory) -> list[int]:
    reddit = {
        "source": "r/MachineLearning",
        "kind": "reddit",
        "url": "https://redd.it/x",
        "engagement": {"score": 99, "comments": 12, "permalink": "/r/ML/comments/x/"},
        # The Reddit thread joined the story 30 hours after the blog post.
        "collected_at": BASE_TIME + timedelta(hours=28),
    }
    ids = [
        factory.story(
            "Older evergreen take 🧠",
            topics=[("evaluation", 0.9)],
            published_at=BASE_TIME - timedelta(days=9),
        )
    ]
    ids.append(
        factory.story(
            "Fresh news peg",
            card=make_card(title="Fresh news peg", timeliness="time-bound"),
            items=[{"source": "Example blog", "url": "https://example.org/f"}, reddit],
            topics=[("foundation-models", 0.8), ("evaluation", 0.3)],
            related=[ids[0]],
        )
    )
    return ids


def test_atom_feeds_round_trip_with_stable_ids(
    stories, factory, pub_ctx: Context, site_dir: Path
) -> None:
    run_publish(pub_ctx)
    feed = feedparser.parse((site_dir / "feeds/items.xml").read_bytes())
    assert not feed.bozo, feed.bozo_exception
    assert [e.id for e in feed.entries] == [
        f"{BASE}items/2026/11/story-2/",
        f"{BASE}items/2026/11/story-1/",
    ]
    fresh = feed.entries[0]
    assert fresh.link == fresh.id and fresh.title == "Fresh news peg"
    assert fresh.updated == "2026-11-18T07:35:00Z"  # published 07:30, card 5 min later
    assert {t.term for t in fresh.tags} == {"foundation-models", "evaluation"}
    assert "What changed" in fresh.content[0].value
    older_updated = feed.entries[1].updated
    factory.update_card(stories[1], hook="Changed hook")
    run_publish(pub_ctx)
    again = feedparser.parse((site_dir / "feeds/items.xml").read_bytes())
    assert again.entries[0].id == fresh.id and again.entries[0].updated != fresh.updated
    assert again.entries[1].updated == older_updated
    topic = feedparser.parse((site_dir / "feeds/topics/foundation-models.xml").read_bytes())
    assert not topic.bozo and [e.id for e in topic.entries] == [fresh.id]


def test_recap_feeds_atom_and_json_feed(stories, factory, pub_ctx: Context, site_dir: Path) -> None:
    factory.recap("2026-W47", "Week one 🚀", {"intro": "Intro text"}, revision=1)
    factory.recap(
        "2026-W47",
        "Week one, revised 🚀",
        {"intro": "Better intro"},
        revision=2,
        created_at=BASE_TIME + timedelta(days=1),
    )
    run_publish(pub_ctx)
    atom = feedparser.parse((site_dir / "feeds/recaps.xml").read_bytes())
    assert not atom.bozo and len(atom.entries) == 1
    assert atom.entries[0].id == f"{BASE}recaps/2026-W47/"
    assert atom.entries[0].title == "Week one, revised 🚀"
    doc = json.loads((site_dir / "feeds/recaps.json").read_text(encoding="utf-8"))
    assert doc["version"] == "https://jsonfeed.org/version/1.1"
    assert doc["items"][0]["id"] == f"{BASE}recaps/2026-W47/"
    assert "Better intro" in doc["items"][0]["content_html"]
    # feedparser 6.0 reads no JSON Feed, so check the 1.1 spec's required fields directly.
    assert doc["title"] and doc["feed_url"] == f"{BASE}feeds/recaps.json"
    for item in doc["items"]:
        assert isinstance(item["id"], str) and (
            item.get("content_html") or item.get("content_text")
        )
        assert item["date_modified"].endswith("Z")
    assert doc["items"][0]["title"] == "Week one, revised 🚀"


def _validate_all(site_dir: Path) -> list[dict]:
    schema = json.loads((site_dir / "api/schema.json").read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    docs = []
    for path in sorted((site_dir / "api").rglob("*.json")):
        if path.name == "schema.json":
            continue
        doc = json.loads(path.read_text(encoding="utf-8"))
        errors = [e.message for e in validator.iter_errors(doc)]
        assert not errors, (path, errors[:3])
        docs.append(doc)
    return docs


def test_every_api_file_validates_against_the_schema(
    stories, pub_ctx: Context, site_dir: Path
) -> None:
    run_publish(pub_ctx)
    docs = _validate_all(site_dir)
    kinds = sorted(d["kind"] for d in docs)
    assert kinds.count("item") == 2 and "index" in kinds and "week" in kinds and "topic" in kinds
    index = json.loads((site_dir / "api/items.json").read_text(encoding="utf-8"))
    assert index["version"] == "1.2" and index["total"] == 2
    assert [w["week"] for w in index["weeks"]] == ["2026-W47", "2026-W46"]
    fresh, older = index["items"]
    assert fresh["engagement"] == {
        "score": 99,
        "comments": 12,
        "discussions": 1,
        "discussion_url": "https://www.reddit.com/r/ML/comments/x/",
    }
    assert fresh["timeliness"] == "time-bound" and older["timeliness"] == "evergreen"
    assert fresh["related"] == [older["id"]] and fresh["coverage"]["source_count"] == 2
    assert fresh["published_at"].endswith("Z") and fresh["recap_url"] == f"{BASE}recaps/2026-W47/"
    assert fresh["mode"] == "llm" and fresh["grounded_ratio"] == 1.0
    assert fresh["entities"] == ["MMLU", "GSM8K", "OpenAI"]
    # 1.1: the story was first seen with the blog post; in the 24 h up to the Reddit thread
    # it gained one source, one item and the thread's engagement (not the blog's).
    assert fresh["first_seen_at"] == "2026-11-18T07:30:00Z"
    assert fresh["momentum"] == {
        "window_hours": 24,
        "as_of": "2026-11-19T13:30:00Z",
        "sources": 1,
        "items": 1,
        "score": 99,
        "comments": 12,
    }
    assert older["momentum"]["sources"] == 1 and older["momentum"]["score"] is None
    assert fresh["kind"] is None and fresh["typed_entities"] == []  # a card written before 1.1
    assert older["title"] == "Older evergreen take 🧠"
    week = json.loads((site_dir / "api/weeks/2026-W46.json").read_text(encoding="utf-8"))
    assert week["next_url"] == f"{BASE}api/weeks/2026-W47.json" and week["count"] == 1


def test_export_records_match_the_api(stories, pub_ctx: Context, site_dir: Path) -> None:
    run_publish(pub_ctx)
    index = json.loads((site_dir / "api/items.json").read_text(encoding="utf-8"))
    with pub_ctx.session() as session:
        everything = export_records(session, settings=pub_ctx.settings)
        recent = export_records(
            session, since=datetime(2026, 11, 15, tzinfo=UTC), settings=pub_ctx.settings
        )
        topical = export_records(session, topic="foundation-models", settings=pub_ctx.settings)
    assert everything == index["items"]
    assert [r["title"] for r in recent] == ["Fresh news peg"]
    assert [r["title"] for r in topical] == ["Fresh news peg"]
    out = io.StringIO()
    write_records(everything, "jsonl", out)
    lines = out.getvalue().splitlines()
    assert len(lines) == 2 and json.loads(lines[1])["title"] == "Older evergreen take 🧠"
    with pytest.raises(ValueError, match="export: unknown format"):
        write_records(everything, "xml", out)
