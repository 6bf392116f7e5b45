"""run_dedupe from two workers at once: one story per event, never two."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace

import pytest
from sqlalchemy import func, select

from aggregator.context import Context
from aggregator.db import claims
from aggregator.db.models import Article, Item, Story
from aggregator.dedupe.stage import run_dedupe

pytestmark = pytest.mark.integration


def test_dedupe_two_workers_create_one_story_per_url(
    pipeline_ctx: Context, make_item: Callable[..., int]
) -> None:
    urls = [f"https://news.example/story-{n}" for n in range(4)]
    ids = [
        make_item(
            ["Wire", "Coastal Ledger", "r/harbors"][i % 3],
            urls[i % 4],
            hours=i % 5,
            title=f"Story {i % 4}",
        )
        for i in range(24)
    ]
    with pipeline_ctx.session() as session:
        for item_id in ids:  # as if extract had run: an article each, queued for dedupe
            session.add(Article(item_id=item_id, text="", method="feed"))
        claims.enqueue(session, "dedupe", ids)
    workers = [replace(pipeline_ctx, worker_id=f"w{n}") for n in range(2)]
    errors: list[BaseException] = []

    def work(ctx: Context) -> None:
        try:
            while run_dedupe(ctx, limit=3).processed:
                pass
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(w,)) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    with pipeline_ctx.session() as session:
        assert session.scalar(select(func.count()).select_from(Story)) == 4
        assert session.scalar(select(func.count()).where(Item.story_id.is_(None))) == 0
        counts = sorted(s.item_count for s in session.scalars(select(Story)))
        assert counts == [6, 6, 6, 6]
