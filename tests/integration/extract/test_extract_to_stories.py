"""Items in a database -> run_extract against pages on 127.0.0.1 -> run_dedupe -> stories."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import select

from aggregator.context import Context
from aggregator.db.models import Article, Item, Job, Story, StoryRelation
from aggregator.dedupe.stage import run_dedupe
from aggregator.extract.stage import run_extract
from tests.integration.extract.conftest import HTML, fixture_page
from tests.servers.feed_server import FeedServer
from tests.unit.extract.pdf_maker import PAPER_PAGES, make_pdf

pytestmark = pytest.mark.integration
FEED_TEXT = "<p>" + " ".join(f"feedword{i}" for i in range(120)) + "</p>"
OTHER_FEED_TEXT = "<p>" + " ".join(f"otherword{i}" for i in range(120)) + "</p>"


def articles(ctx: Context) -> dict[int, Article]:
    with ctx.session() as session:
        return {a.item_id: a for a in session.scalars(select(Article))}


def jobs(ctx: Context, stage: str) -> dict[int, Job]:
    with ctx.session() as session:
        return {j.subject_id: j for j in session.scalars(select(Job).where(Job.stage == stage))}


def test_pipeline_extract_then_dedupe_builds_stories(
    pipeline_ctx: Context, page_server: FeedServer, make_item: Callable[..., int]
) -> None:
    ctx = pipeline_ctx
    article = fixture_page("boilerplate_heavy_article.html")
    page_server.add("/ferry", article, content_type=HTML)
    # Same article at another address with different chrome: same text, same content hash.
    page_server.add(
        "/syndicated/ferry", article.replace(b"Most read", b"Popular now"), content_type=HTML
    )
    page_server.add(
        "/paper.pdf", make_pdf(PAPER_PAGES, title="Sparse Routing"), content_type="application/pdf"
    )
    page_server.add("/private/memo", article, content_type=HTML)
    page_server.add("/shell", fixture_page("script_only_page.html"), content_type=HTML)
    page_server.add("/photo.bin", b"\x89PNG....", content_type="image/png")

    ferry = make_item("Wire", page_server.url("/ferry"), title="Ferry stays")
    syndicated = make_item(
        "Coastal Ledger", page_server.url("/syndicated/ferry"), hours=2, title="Night ferry kept"
    )
    reddit = make_item(
        "r/harbors",
        page_server.url("/ferry"),
        hours=3,
        kind="link",
        engagement={"score": 50, "comments": 7},
        title="Our ferry is saved!",
    )
    paper = make_item("Wire", page_server.url("/paper.pdf"), hours=1, title="Sparse routing paper")
    private = make_item(
        "Wire", page_server.url("/private/memo"), hours=1, title="Memo", content_html=FEED_TEXT
    )
    shell = make_item(
        "Wire", page_server.url("/shell"), hours=1, title="App story", content_html=OTHER_FEED_TEXT
    )
    photo = make_item(
        "Wire",
        page_server.url("/photo.bin"),
        hours=1,
        title="Photo",
        summary="<p>A photo of the harbor.</p>",
    )
    self_post = make_item(
        "r/harbors",
        "https://reddit.example/r/harbors/comments/1",
        hours=4,
        kind="self",
        title="Ask: best ferry app?",
        engagement={"selftext": "Which app shows ferry times? " * 12},
    )

    report = run_extract(ctx)
    assert report.succeeded == 8 and report.failed == 0
    found = articles(ctx)
    assert found[ferry].method == "trafilatura" and "Port Elwen" in found[ferry].text
    assert found[ferry].content_hash == found[syndicated].content_hash
    assert found[ferry].final_url == page_server.url("/ferry")
    assert found[paper].method == "pdf" and "balancing loss" in found[paper].text
    assert found[private].method == "feed" and "robots.txt disallows" in found[private].error
    assert found[shell].method == "feed-short-page" and found[shell].word_count == 120
    assert found[photo].method == "feed" and "image/png" in found[photo].error
    assert found[self_post].method == "reddit-selftext"
    assert found[ferry].raw_html is None  # retention default: raw HTML not kept
    assert page_server.hits["/robots.txt"] == 1  # cached per host
    assert page_server.hits["/private/memo"] == 0
    assert all(j.status == "done" for j in jobs(ctx, "extract").values())
    assert set(jobs(ctx, "dedupe")) == {
        ferry,
        syndicated,
        reddit,
        paper,
        private,
        shell,
        photo,
        self_post,
    }

    report = run_dedupe(ctx)
    assert report.succeeded == 8
    with ctx.session() as session:
        items = {i.id: i for i in session.scalars(select(Item))}
        stories = {s.id: s for s in session.scalars(select(Story))}
        ferry_story = stories[items[ferry].story_id]
        assert items[syndicated].story_id == items[reddit].story_id == ferry_story.id
        assert ferry_story.item_count == 3 and ferry_story.source_count == 3
        # Coastal Ledger has priority 5: its item is primary though it came later.
        assert ferry_story.primary_item_id == syndicated
        assert ferry_story.published_at == items[ferry].published_at
        assert ferry_story.week == "2026-W10" and len(ferry_story.uid) == 12
        assert ferry_story.slug == "ferry-stays"
        others = {items[i].story_id for i in (paper, private, shell, photo, self_post)}
        assert len(others) == 5 and ferry_story.id not in others
        assert len(stories) == 6
    summarize = jobs(ctx, "summarize")
    assert set(summarize) == set(stories)
    assert all(j.status == "done" for j in jobs(ctx, "dedupe").values())


def test_pipeline_story_identity_is_stable_when_items_join_later(
    pipeline_ctx: Context, page_server: FeedServer, make_item: Callable[..., int]
) -> None:
    ctx = pipeline_ctx
    page_server.add("/ferry", fixture_page("boilerplate_heavy_article.html"), content_type=HTML)
    first = make_item("Wire", page_server.url("/ferry"), title="Ferry stays")
    run_extract(ctx)
    run_dedupe(ctx)
    with ctx.session() as session:
        story = session.get(Story, session.get(Item, first).story_id)
        uid, slug, story_id = story.uid, story.slug, story.id
    summarize_before = jobs(ctx, "summarize")[story_id]
    # A Reddit post about the same article arrives later: it joins, nothing is re-queued.
    later = make_item(
        "r/harbors",
        page_server.url("/ferry"),
        hours=5,
        kind="link",
        engagement={"score": 900},
        title="Ferry saved",
    )
    run_extract(ctx)
    run_dedupe(ctx)
    with ctx.session() as session:
        story = session.get(Story, story_id)
        assert (story.uid, story.slug) == (uid, slug)
        assert story.item_count == 2 and session.get(Item, later).story_id == story_id
        assert story.primary_item_id == later  # equal priority: more engagement wins
    assert jobs(ctx, "summarize")[story_id].id == summarize_before.id
    assert page_server.hits["/robots.txt"] == 1  # verdicts are kept between runs
    assert len(jobs(ctx, "summarize")) == 1
    # Running again finds nothing to do and changes nothing.
    assert run_dedupe(ctx).processed == 0


def test_pipeline_relates_follow_up_story(
    pipeline_ctx: Context, page_server: FeedServer, make_item: Callable[..., int]
) -> None:
    ctx = pipeline_ctx
    launch = (
        "<p>Norvale released Quill-3, an open-weights model family whose 120B version runs on "
        "one eight-GPU server and rivals closed systems on coding and math benchmarks.</p>"
        "<p>The license allows commercial use below 50 million monthly users, and the "
        "training recipe is public.</p>"
    )
    follow = (
        "<p>Independent testers at the Open Eval Collective could not reproduce the math "
        "scores Norvale reported for Quill-3 120B.</p><p>On fresh competition problems the "
        "model scored 41 percent; Norvale blamed prompt formatting and published its "
        "evaluation harness.</p>"
    )
    first = make_item("Wire", None, title="Norvale releases Quill-3", content_html=launch)
    second = make_item(
        "Coastal Ledger",
        None,
        hours=30,
        title="Quill-3 math scores questioned",
        content_html=follow,
    )
    run_extract(ctx)
    run_dedupe(ctx)
    with ctx.session() as session:
        a, b = session.get(Item, first).story_id, session.get(Item, second).story_id
        assert a != b
        relations = list(session.scalars(select(StoryRelation)))
        assert [(r.story_id, r.related_story_id) for r in relations] == [(b, a)]
        assert 0 < relations[0].score <= 1.05


def test_pipeline_rewrite_in_a_later_run_joins_through_stored_signature(
    pipeline_ctx: Context, make_item: Callable[..., int]
) -> None:
    ctx = pipeline_ctx
    first = make_item(
        "Wire",
        None,
        title="Helix Compute raises $410 million to build inference chips",
        content_html="<p>Helix Compute, a startup designing chips for running AI models, "
        "has raised $410 million in a Series C round led by Granite Peak Ventures. Its "
        "Tessera accelerator cuts the cost of serving language models by 60 percent.</p>",
    )
    run_extract(ctx)
    assert run_dedupe(ctx).details["stories_created"] == 1
    rewrite = make_item(
        "Coastal Ledger",
        None,
        hours=6,
        title="Inference chip startup Helix lands $410M Series C",
        content_html="<p>Granite Peak Ventures led a $410 million Series C in Helix Compute, "
        "whose Tessera accelerator is built for inference. Helix claims Tessera serves "
        "language models at 60 percent lower cost than GPUs.</p>",
    )
    other = make_item(
        "Wire",
        None,
        hours=7,
        title="Stratus cuts GPU rental prices by 35 percent",
        content_html="<p>Stratus Cloud is cutting on-demand prices for its GPU instances by "
        "35 percent next month, citing new capacity in Oregon and Finland.</p>",
    )
    run_extract(ctx)
    report = run_dedupe(ctx)
    assert report.details["matched"] == {"same-event": 1}
    with ctx.session() as session:
        story = session.get(Story, session.get(Item, first).story_id)
        assert session.get(Item, rewrite).story_id == story.id
        assert session.get(Item, other).story_id != story.id
        assert story.item_count == 2 and story.source_count == 2
        assert story.primary_item_id == rewrite  # Coastal Ledger has the higher priority
        assert len(story.signature) == 3  # header + the two wordings kept for matching
