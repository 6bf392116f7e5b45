"""run_dedupe on big batches and edge cases of its bulk writes: the stored stories are those
StoryIndex decides in memory, and primaries, uids and skips follow the stage's rules."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Iterator
from concurrent.futures.process import BrokenProcessPool
from datetime import timedelta

import pytest
from sqlalchemy import delete, func, select

from aggregator.context import Context
from aggregator.db import claims
from aggregator.db.models import Article, Item, Job, Source, Story
from aggregator.dedupe.ids import rank, story_uid
from aggregator.dedupe.index import PARALLEL_MIN_DOCS, Doc, signature
from aggregator.dedupe.stage import POOL_KEY, RELATED_DAYS, run_dedupe, story_index
from tests.integration.extract.conftest import SOURCES, T0

pytestmark = pytest.mark.integration
ITEMS = PARALLEL_MIN_DOCS + 100  # enough for the signature worker processes
PRIORITY = {s["name"]: s.get("priority", 0) for s in SOURCES}
TOPICS = {s["name"]: frozenset(s.get("topics", [])) for s in SOURCES}


def _word(rng: random.Random) -> str:
    return "".join(rng.choice("bdfgklmnprstvz") + rng.choice("aeiou") for _ in range(3))


def store_generated_items(ctx: Context, n: int) -> None:
    """Store n items (events reported several times: rewrites, copies of one URL) with
    articles, queued for dedupe."""
    rng = random.Random(11)
    with ctx.session() as session:
        sources = [Source(name=s["name"], kind=s["kind"], url="https://x.example") for s in SOURCES]
        session.add_all(sources)
        session.flush()
        count, event = 0, 0
        while count < n:
            words = [_word(rng) for _ in range(30)]
            when = T0 + timedelta(hours=rng.randint(0, 24 * 20))
            for copy in range(min(rng.choice([1, 2, 3, 5]), n - count)):
                count += 1
                source = rng.choice(sources)
                same_url = copy and rng.random() < 0.3
                text = " ".join(rng.choice(words) for _ in range(rng.randint(60, 120)))
                item = Item(
                    id=count,
                    source_id=source.id,
                    guid_hash=f"{count:064d}",
                    title=" ".join(rng.sample(words, 4)),
                    canonical_url=f"https://n.example/{event}/{0 if same_url else copy}",
                    published_at=when + timedelta(minutes=rng.randint(0, 600)),
                    engagement={"score": rng.randint(0, 50)},
                )
                session.add(item)
                session.add(
                    Article(
                        item_id=count,
                        text=text,
                        word_count=len(text.split()),
                        content_hash=hashlib.sha256(text.encode()).hexdigest(),
                        method="test",
                    )
                )
            event += 1
        claims.enqueue(session, "dedupe", range(1, n + 1))


def expected_stories(ctx: Context) -> set[frozenset[int]]:
    """Return the item ids of each story as StoryIndex places the stored items, in memory."""
    index = story_index(ctx)
    with ctx.session() as session:
        rows = session.execute(
            select(Item, Article, Source.name)
            .join(Article, Article.item_id == Item.id)
            .join(Source, Source.id == Item.source_id)
            .order_by(Item.published_at, Item.id)
        ).all()
    story_of: dict[int, int] = {}
    # The stage counts a batch's terms before placing it (IDF independent of arrival order).
    sigs = [signature(item.title, article.text) for item, article, _ in rows]
    index.prime(sigs)
    for (item, article, source), sig in zip(rows, sigs, strict=True):
        doc = Doc(
            item.id,
            item.title,
            "",
            item.published_at,
            item.canonical_url,
            article.content_hash,
            TOPICS[source],
        )
        match = index.match(doc, sig)
        if match is None:
            index.related(doc, sig)
            index.add(item.id, doc, sig)
            story_of[item.id] = item.id
        else:
            index.add(match.story, doc, sig if match.kind == "same-event" else None)
            story_of[item.id] = match.story
    groups: dict[int, set[int]] = {}
    for item_id, story in story_of.items():
        groups.setdefault(story, set()).add(item_id)
    return {frozenset(g) for g in groups.values()}


def test_dedupe_big_batch_stores_what_the_index_decides(pipeline_ctx: Context) -> None:
    ctx = pipeline_ctx
    store_generated_items(ctx, ITEMS)
    report = run_dedupe(ctx, limit=ITEMS)
    assert (report.processed, report.succeeded, report.skipped) == (ITEMS, ITEMS, 0)
    expected = expected_stories(ctx)
    assert 1 < len(expected) < ITEMS / 1.5  # the batch has both new stories and joins
    with ctx.session() as session:
        items = session.execute(
            select(Item.id, Item.story_id, Item.source_id, Item.published_at, Item.engagement)
        ).all()
        names = dict(session.execute(select(Source.id, Source.name)).all())
        stories = {s.id: s for s in session.scalars(select(Story))}
        jobs = session.execute(select(Job.stage, Job.status, Job.subject_id)).all()
    found: dict[int, list] = {}
    for item in items:
        found.setdefault(item.story_id, []).append(item)
    assert {frozenset(i.id for i in g) for g in found.values()} == expected
    assert report.details["stories_created"] == len(stories) == len(expected)
    for story_id, story in stories.items():
        members = found[story_id]
        ranks = {
            rank(PRIORITY[names[i.source_id]], i.engagement, i.published_at, i.id): i.id
            for i in members
        }
        assert story.primary_item_id == ranks[min(ranks)]
        assert story.item_count == len(members)
        assert story.source_count == len({i.source_id for i in members})
        assert story.published_at == min(i.published_at for i in members)
    assert {s for stage, status, s in jobs if stage == "dedupe" and status == "done"} == set(
        range(1, ITEMS + 1)
    )
    assert {s for stage, _, s in jobs if stage == "summarize"} == set(stories)


def test_dedupe_primary_of_a_stored_story_holds_unless_outranked_or_deleted(
    pipeline_ctx: Context, make_item: Callable[..., int]
) -> None:
    ctx = pipeline_ctx

    def place(source: str, hours: float, title: str) -> int:
        item_id = make_item(source, "https://n.example/ferry", hours=hours, title=title)
        with ctx.session() as session:
            claims.enqueue(session, "dedupe", [item_id])
        run_dedupe(ctx)
        return item_id

    first = place("Coastal Ledger", 0, "Ferry stays")
    with ctx.session() as session:
        story_id = session.get(Item, first).story_id
        uid, slug = session.get(Story, story_id).uid, session.get(Story, story_id).slug
    second = place("Wire", 1, "Ferry kept")  # priority 0 does not beat the Ledger's 5
    with ctx.session() as session:
        story = session.get(Story, story_id)
        assert session.get(Item, second).story_id == story_id
        assert (story.primary_item_id, story.title) == (first, "Ferry stays")
        session.execute(delete(Item).where(Item.id == first))
    later = place("Wire", 2, "Ferry is kept for now")
    with ctx.session() as session:
        story = session.get(Story, story_id)
        assert session.get(Item, later).story_id == story_id
        # The stored primary is gone: the joining item is primary although `second` ranks
        # better (earlier), as when items joined one by one.
        assert (story.primary_item_id, story.title) == (later, "Ferry is kept for now")
        assert (story.uid, story.slug, story.item_count) == (uid, slug, 3)


def test_dedupe_new_story_whose_uid_is_taken_gets_another(
    pipeline_ctx: Context, make_item: Callable[..., int]
) -> None:
    ctx = pipeline_ctx
    item_id = make_item("Wire", "https://n.example/ferry", title="Ferry stays")
    with ctx.session() as session:
        item = session.get(Item, item_id)
        identity = f"{item.source_id}:{item.guid_hash}"
        # A story too old to be loaded for matching, holding the uid the item would get.
        old = item.published_at - timedelta(days=RELATED_DAYS + 30)
        session.add(
            Story(uid=story_uid(identity), slug="old", title="Old", published_at=old, week="x")
        )
        claims.enqueue(session, "dedupe", [item_id])
    assert run_dedupe(ctx).details["stories_created"] == 1
    with ctx.session() as session:
        story = session.get(Story, session.get(Item, item_id).story_id)
        assert story.uid == story_uid(identity, 1) and story.slug == "ferry-stays"


def test_dedupe_skips_an_item_already_in_a_story(
    pipeline_ctx: Context, make_item: Callable[..., int]
) -> None:
    ctx = pipeline_ctx
    item_id = make_item("Wire", "https://n.example/ferry", title="Ferry stays")
    with ctx.session() as session:
        claims.enqueue(session, "dedupe", [item_id, 999])  # 999: an item since deleted
    assert run_dedupe(ctx).skipped == 1
    with ctx.session() as session:
        claims.enqueue(session, "dedupe", [item_id], reset=True)  # queued again by mistake
    report = run_dedupe(ctx)
    assert (report.processed, report.skipped, report.succeeded) == (1, 1, 0)
    with ctx.session() as session:
        story = session.get(Story, session.get(Item, item_id).story_id)
        assert story.item_count == 1
        statuses = dict(
            session.execute(select(Job.subject_id, Job.status).where(Job.stage == "dedupe")).all()
        )
        assert statuses == {item_id: "skipped", 999: "skipped"}


class BrokenPool:
    """A process pool whose worker died."""

    def map(self, *args: object, **kwargs: object) -> Iterator[object]:
        raise BrokenProcessPool("a worker died")


def test_dedupe_keeps_its_signature_pool_and_drops_a_broken_one(
    pipeline_ctx: Context, make_item: Callable[..., int], monkeypatch: pytest.MonkeyPatch
) -> None:
    ctx = pipeline_ctx
    # Batches this small go to the worker processes too.
    monkeypatch.setattr("aggregator.dedupe.index.PARALLEL_MIN_DOCS", 2)
    monkeypatch.setattr("aggregator.dedupe.stage.PARALLEL_MIN_DOCS", 2)
    ids = [make_item("Wire", f"https://n.example/{n}", title=f"Story {n}") for n in range(3)]
    with ctx.session() as session:
        claims.enqueue(session, "dedupe", ids)
    ctx.extras[POOL_KEY] = BrokenPool()
    with pytest.raises(BrokenProcessPool):
        run_dedupe(ctx)
    assert POOL_KEY not in ctx.extras  # the next run starts a new pool
    with ctx.session() as session:
        assert session.scalar(select(func.count()).where(Item.story_id.is_not(None))) == 0
    assert run_dedupe(ctx).succeeded == 3  # nothing was lost: the jobs were still pending
    pool = ctx.extras[POOL_KEY]
    later = make_item("Wire", "https://n.example/0", hours=1, title="Story 0 again")
    another = make_item("Wire", "https://n.example/9", hours=1, title="Story 9")
    with ctx.session() as session:
        claims.enqueue(session, "dedupe", [later, another])
    assert run_dedupe(ctx).details["matched"] == {"url": 1}
    assert ctx.extras[POOL_KEY] is pool  # kept between runs
