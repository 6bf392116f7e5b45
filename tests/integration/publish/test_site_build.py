"""The publish stage end to end on a real SQLite database: paths, pages, determinism, safety."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from xml.etree import ElementTree

import pytest

from aggregator.context import Context
from aggregator.db.meta import get_meta
from aggregator.publish.stage import run_publish

pytestmark = pytest.mark.integration
REDDIT_ITEM = {
    "source": "r/MachineLearning",
    "kind": "reddit",
    "url": "https://www.reddit.com/r/MachineLearning/comments/abc/",
    "engagement": {"score": 321, "comments": 45, "permalink": "/r/MachineLearning/comments/abc/x/"},
}


def _files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


@pytest.fixture
def small_site(factory, pub_ctx: Context) -> dict[str, int]:
    first = factory.story("Benchmarks 💡 and evals", topics=[("evaluation", 0.9)])
    second = factory.story(
        "Второй 日本語 العربية story",
        mode="extractive",
        grounded_ratio=0.5,
        related=[first],
        slug="second-story",
        items=[
            {"source": "Example blog", "url": "https://example.org/two", "author": "Ada"},
            {"source": "Other news", "url": "https://other.example/two"},
            REDDIT_ITEM,
        ],
        topics=[("evaluation", 0.8), ("foundation-models", 0.4)],
    )
    for i in range(5):
        factory.story(f"Filler {i}", topics=[("foundation-models", 0.7)])
    return {"first": first, "second": second}


def test_publish_writes_every_contract_path(small_site, pub_ctx: Context, site_dir: Path) -> None:
    report = run_publish(pub_ctx)
    assert report.failed == 0 and report.succeeded == 7, report.errors
    for rel in [
        "index.html",
        "items/2026/11/second-story/index.html",
        "topics/evaluation/index.html",
        "topics/index.html",
        "sources/example-blog/index.html",
        "sources/index.html",
        "recaps/index.html",
        "recaps/2026-W47/index.html",
        "archive/index.html",
        "archive/2026-W47/index.html",
        "feeds/items.xml",
        "feeds/recaps.xml",
        "feeds/recaps.json",
        "feeds/topics/evaluation.xml",
        "api/items.json",
        "api/items/s00000002.json",
        "api/topics/evaluation.json",
        "api/schema.json",
        "api/weeks/2026-W47.json",
        "sitemap.xml",
        "robots.txt",
        "about/index.html",
        "subscribe/index.html",
        "404.html",
        "static/site.css",
        "static/favicon.svg",
        "page-1.html",
        "page-2.html",
    ]:
        assert (site_dir / rel).is_file(), rel
    with pub_ctx.session() as session:
        assert get_meta(session, "last_publish_at")
    robots = (site_dir / "robots.txt").read_text()
    assert "Sitemap: http://127.0.0.1:8000/sitemap.xml" in robots
    ns = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}
    urls = ElementTree.parse(site_dir / "sitemap.xml").getroot().findall("s:url", ns)
    locs = {
        u.findtext("s:loc", namespaces=ns): u.findtext("s:lastmod", namespaces=ns) for u in urls
    }
    assert len(locs) == len(urls)  # no URL listed twice
    items = {loc: mod for loc, mod in locs.items() if "/items/" in loc}
    assert len(items) == 7 and all(
        re.fullmatch(r"\d{4}-\d\d-\d\dT[\d:]{8}Z", m) for m in items.values()
    )
    assert "http://127.0.0.1:8000/items/2026/11/second-story/" in items
    assert (
        locs["http://127.0.0.1:8000/"] is None
        and "http://127.0.0.1:8000/topics/evaluation/" in locs
    )


def test_item_page_shows_the_seed_layout(small_site, pub_ctx: Context, site_dir: Path) -> None:
    run_publish(pub_ctx)
    page = (site_dir / "items/2026/11/second-story/index.html").read_text(encoding="utf-8")
    assert page.startswith("<!doctype html>") and '<meta charset="utf-8">' in page
    assert "<h1>Второй 日本語 العربية story</h1>" in page
    for text in (
        "30-second TL;DR",
        "What changed",
        "Why it matters",
        "What to do next",
        "Deep insight",
        "Key takeaways",
        "Technical deep dive",
        "Future implications",
        "Also covered by",
        "Related updates",
        "Original source",
        "belong to its original publisher",
        "Extractive summary, no AI",
        "50% of citations verified",
        "321 points",
        "45 comments",
        "Ada",
    ):
        assert text in page, text
    assert 'href="../../../../recaps/2026-W47/index.html"' in page
    assert 'href="https://other.example/two" rel="nofollow noopener noreferrer"' in page
    assert 'href="https://www.reddit.com/r/MachineLearning/comments/abc/x/"' in page
    assert re.search(r'<li id="note-1"><blockquote>“models are increasingly trained', page)
    assert "#:~:text=models%20are%20increasingly" in page
    assert '<link rel="canonical" href="http://127.0.0.1:8000/items/2026/11/second-story/">' in page
    assert 'property="og:title"' in page and 'name="twitter:card"' in page
    assert "script-src" not in page and "<script" not in page
    first = (site_dir / "items/2026/11/story-1/index.html").read_text(encoding="utf-8")
    assert "AI-generated" in first and "gpt-4o-mini" in first and "summarize_item v1" in first
    assert "citations verified" not in first  # grounded_ratio 1.0 needs no warning


def test_publish_is_deterministic(small_site, pub_ctx: Context, site_dir: Path) -> None:
    run_publish(pub_ctx)
    first = _files(site_dir)
    shutil.rmtree(site_dir)
    run_publish(pub_ctx)
    assert _files(site_dir) == first


def test_publish_is_incremental(small_site, factory, pub_ctx: Context, site_dir: Path) -> None:
    run_publish(pub_ctx)
    untouched = site_dir / "items/2026/11/story-3/index.html"
    before = untouched.stat()
    again = run_publish(pub_ctx)
    assert again.details["written"] == 0 and again.details["mode"] == "patch"
    factory.update_card(small_site["first"], hook="A sharper hook ✨")
    third = run_publish(pub_ctx)
    written = third.details["written"]
    assert 0 < written < third.details["files"] // 2
    assert (
        untouched.stat().st_ino == before.st_ino
        and untouched.stat().st_mtime_ns == before.st_mtime_ns
    )
    assert "A sharper hook ✨" in (site_dir / "items/2026/11/story-1/index.html").read_text("utf-8")


def test_failed_build_leaves_previous_site(
    small_site, pub_ctx: Context, site_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_publish(pub_ctx)
    before = _files(site_dir)
    from aggregator.publish import site as site_module

    def explode(build) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(site_module.feeds, "write_feeds", explode)
    (site_dir.parent / "marker").write_text("x")
    with pub_ctx.session() as session:
        from aggregator.db.models import Card

        session.query(Card).update({"mode": "extractive"})
    report = run_publish(pub_ctx)
    assert report.failed == 1 and "publish: RuntimeError: disk on fire" in report.errors[0]
    assert _files(site_dir) == before
    assert not list(site_dir.parent.glob(".site.staging-*"))


def test_week_without_recap_gets_a_pending_page(
    small_site, factory, pub_ctx: Context, site_dir: Path
) -> None:
    run_publish(pub_ctx)
    pending = (site_dir / "recaps/2026-W47/index.html").read_text(encoding="utf-8")
    assert "has not been written yet" in pending and "Benchmarks 💡 and evals" in pending
    factory.recap(
        "2026-W47",
        "The week evals grew up",
        {
            "intro": "Evals <b>everywhere</b>.",
            "sections": [
                {
                    "title": "Evaluation",
                    "items": [
                        {"title": "Benchmarks", "text": "Why they fail", "story_uid": "s00000001"}
                    ],
                }
            ],
            "what_to_watch": ["Private eval suites"],
        },
        story_ids=[small_site["first"]],
    )
    run_publish(pub_ctx)
    recap = (site_dir / "recaps/2026-W47/index.html").read_text(encoding="utf-8")
    assert "The week evals grew up" in recap and "Evals &lt;b&gt;everywhere&lt;/b&gt;." in recap
    assert 'href="../../items/2026/11/story-1/index.html"' in recap
    assert "What to watch" in recap and "Private eval suites" in recap


def test_hostile_text_is_escaped_everywhere(factory, pub_ctx: Context, site_dir: Path) -> None:
    from tests.integration.publish.conftest import make_card

    evil = "<script>alert(1)</script><img src=x onerror=alert(1)>"
    card = make_card(title="Evil " + evil[:40], hook=evil, entities=[evil])
    factory.story(
        "Evil",
        card=card,
        slug="<svg onload=x>",
        items=[{"source": "Bad <b>feed</b>", "url": "javascript:alert(1)", "title": evil}],
    )
    run_publish(pub_ctx)
    for path in site_dir.rglob("*.html"):
        html = path.read_text(encoding="utf-8")
        assert "<script>alert" not in html and "<img src=x" not in html, path
        assert 'href="javascript:' not in html, path
    assert (site_dir / "items/2026/11/svg-onload-x/index.html").is_file()
    feed = (site_dir / "feeds/items.xml").read_text(encoding="utf-8")
    assert "<script>" not in feed


def test_publish_without_pagefind_warns_and_keeps_the_site(
    small_site, pub_ctx: Context, site_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from aggregator.publish import search

    monkeypatch.setattr(search, "pagefind_executable", lambda: None)
    pub_ctx.settings.site.search = True
    report = run_publish(pub_ctx)
    assert report.failed == 0 and report.details["search"] == "unavailable"
    assert "pagefind is not installed" in report.errors[0]
    page = (site_dir / "search/index.html").read_text(encoding="utf-8")
    assert "script-src 'self' 'wasm-unsafe-eval'" in page and "needs JavaScript" in page


def test_about_and_subscribe_pages_come_from_config(
    small_site, pub_ctx: Context, site_dir: Path
) -> None:
    run_publish(pub_ctx)
    about = (site_dir / "about/index.html").read_text(encoding="utf-8")
    assert "Foundation models &amp; inference economics" in about and "Example blog" in about
    subscribe = (site_dir / "subscribe/index.html").read_text(encoding="utf-8")
    for feed in (
        "feeds/items.xml",
        "feeds/recaps.xml",
        "feeds/recaps.json",
        "feeds/topics/evaluation.xml",
    ):
        assert feed in subscribe
