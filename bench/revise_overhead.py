"""The revise stage's cost: an idle round over many published cards, and revising a batch.

Usage: python bench/revise_overhead.py [--stories N] [--revise M]

The revise stage runs in every round of `process_pending`, so its idle cost (finding no
story with new items among N carded stories) is paid often; the goal is <= 100 ms at
N = 20,000. Then M stories each gain one new item from a new source and one round revises
them (offline What's new): goal <= 20 ms per revision. Runs on a temporary SQLite database
(rows inserted in bulk first, not timed). Texts are generated; no third-party data.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert, update

from aggregator.config import load_settings
from aggregator.context import open_context
from aggregator.db.models import Article, Card, CardRevision, Item, Source, Story
from aggregator.revise.stage import run_revise

WORDS = ["council", "harbor", "barrier", "model", "chip", "budget", "tokens", "cluster", "vote", "price", "region", "data", "release", "court", "ruling", "grid", "power", "contract", "fund", "storm", "bridge", "launch"]  # fmt: skip
START = datetime(2026, 11, 2, tzinfo=UTC)


def sentence(rng: random.Random) -> str:
    """Return one generated sentence with a number in it."""
    words = [rng.choice(WORDS) for _ in range(rng.randint(9, 16))]
    return f"The {' '.join(words)} rose to {rng.randint(2, 900)} units this week."


def text(rng: random.Random, n: int = 8) -> str:
    """Return a generated article of n sentences."""
    return " ".join(sentence(rng) for _ in range(n))


def card(rng: random.Random, body: str) -> dict:
    """Return a card quoting three sentences of the article."""
    first = body.split(". ")[:3]
    points = [{"text": s, "citations": [s]} for s in first]
    return {"title": "Generated story", "hook": first[0][:150],
            "tldr": {"what_changed": first[0], "why_it_matters": first[1], "what_to_do_next": ""},
            "key_takeaways": points, "technical_deep_dive": [], "future_implications": [],
            "topics": [], "entities": [], "timeliness": "time-bound"}  # fmt: skip


def populate(ctx: object, n: int, rng: random.Random) -> None:
    """Insert n stories, each with one item, its article, a card and its first revision."""
    with ctx.session() as s:  # type: ignore[attr-defined]
        s.execute(insert(Source), [{"name": f"S{i}", "kind": "rss", "url": f"http://s{i}/",
                                    "extra": {}} for i in range(2)])  # fmt: skip
        stories, items, articles, cards, revisions = [], [], [], [], []
        for i in range(1, n + 1):
            when = START + timedelta(minutes=i)
            body = text(rng)
            stories.append({"id": i, "uid": f"u{i}", "slug": f"s{i}", "title": "t",
                            "published_at": when, "week": "2026-W45", "primary_item_id": i,
                            "item_count": 1, "source_count": 1, "signature": []})  # fmt: skip
            items.append({"id": i, "source_id": 1, "guid_hash": f"g{i}", "title": "t",
                          "published_at": when, "story_id": None, "tags": [], "enclosures": [],
                          "engagement": {}})  # fmt: skip
            articles.append({"item_id": i, "text": body, "method": "bench", "word_count": 100})
            data = card(rng, body)
            cards.append({"story_id": i, "card": data, "mode": "extractive", "content_hash": "h",
                          "revision": 1, "updated_at": when, "created_at": when})  # fmt: skip
            revisions.append({"story_id": i, "revision": 1, "reason": "first", "summary": "",
                              "card": data, "whats_new": [], "item_ids": [i], "item_count": 1,
                              "mode": "extractive", "created_at": when})  # fmt: skip
        for table, rows in ((Item, items), (Story, stories), (Article, articles), (Card, cards),
                            (CardRevision, revisions)):  # fmt: skip
            for start in range(0, len(rows), 2000):
                s.execute(insert(table), rows[start : start + 2000])
        s.execute(update(Item).values(story_id=Item.id))


def add_news(ctx: object, n: int, m: int, rng: random.Random) -> None:
    """Give m random stories one new item each, from the second source."""
    chosen = rng.sample(range(1, n + 1), m)
    with ctx.session() as s:  # type: ignore[attr-defined]
        for k, story_id in enumerate(chosen):
            item_id = n + 1 + k
            s.execute(insert(Item), [{"id": item_id, "source_id": 2, "guid_hash": f"n{k}",
                                      "title": "follow-up", "published_at": datetime.now(UTC),
                                      "story_id": story_id, "tags": [], "enclosures": [],
                                      "engagement": {}}])  # fmt: skip
            s.execute(insert(Article), [{"item_id": item_id, "text": text(rng),
                                         "method": "bench", "word_count": 100}])  # fmt: skip
            s.execute(update(Story).where(Story.id == story_id)
                      .values(item_count=2, source_count=2))  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stories", type=int, default=20_000)
    parser.add_argument("--revise", type=int, default=200)
    args = parser.parse_args()
    rng = random.Random(17)
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.db"
        settings = load_settings(Path(tmp) / "none.toml", env={}, required=False,
                                 overrides={"database": {"url": f"sqlite:///{db}"}})  # fmt: skip
        ctx = open_context(settings)
        populate(ctx, args.stories, rng)
        idle = []
        for _ in range(5):
            started = time.perf_counter()
            report = run_revise(ctx)
            idle.append(time.perf_counter() - started)
            assert report.processed == 0
        add_news(ctx, args.stories, args.revise, rng)
        started, cpu = time.perf_counter(), time.process_time()
        report = run_revise(ctx, limit=args.revise)
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu
        ctx.engine.dispose()
    revised = report.details.get("revised", 0)
    load = os.getloadavg()[0]
    print(f"idle rounds over {args.stories:,} cards: " + ", ".join(f"{t * 1000:.1f}" for t in idle)
          + " ms")  # fmt: skip
    print(f"{args.revise} stories with a new item: {revised} revised, "
          f"{report.details.get('quiet', 0)} quiet, {wall:.2f} s wall, {cpu:.2f} s CPU")  # fmt: skip
    print(f"summary: idle round median {sorted(idle)[2] * 1000:.1f} ms (goal <= 100 ms), "
          f"{wall / max(1, args.revise) * 1000:.1f} ms per story revised (goal <= 20 ms), "
          f"load average {load:.1f}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
