"""run_collect end to end: config -> sources table -> real HTTP -> items and extraction jobs."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.exc import OperationalError

from aggregator.clock import utcnow
from aggregator.collect import engine
from aggregator.collect import stage as collect_module
from aggregator.collect.stage import UnknownSource, run_collect
from aggregator.collect.store import sync_sources
from aggregator.context import Context, open_context
from aggregator.db.models import Item, Job, Source
from aggregator.settings import RSSSource, Settings
from tests.integration.collect.conftest import FEEDS, rss
from tests.servers.feed_server import FeedServer

pytestmark = pytest.mark.integration


def rss_source(name: str, url: str, **extra: Any) -> dict[str, Any]:
    return {"kind": "rss", "name": name, "url": url, "every": "30m", **extra}


def context(
    make_settings: Callable[..., Settings], *sources: dict[str, Any], **sections: Any
) -> Context:
    return open_context(make_settings(sources=list(sources), **sections))


def source_row(ctx: Context, name: str) -> Source:
    with ctx.session() as session:
        return session.scalars(select(Source).where(Source.name == name)).one()


def items(ctx: Context) -> list[Item]:
    with ctx.session() as session:
        return list(session.scalars(select(Item).order_by(Item.id)))


def test_run_collect_stores_items_and_queues_extraction(
    any_ctx: Context, feed_server: FeedServer
) -> None:
    url = feed_server.add("/notes.xml", (FEEDS / "rss2_basic.xml").read_bytes())
    # any_ctx's database (SQLite, then PostgreSQL when configured) with one source added.
    any_ctx.settings = any_ctx.settings.model_copy(
        update={"sources": [RSSSource(**rss_source("Notes", url))]}
    )
    report = run_collect(any_ctx)
    assert (report.succeeded, report.failed, report.details["new_items"]) == (1, 0, 3)
    stored = items(any_ctx)
    assert {i.title for i in stored} == {
        "Batching halves our GPU bill",
        "An undated note",
        "Quantization & quality: a small table",
    }
    batching = next(i for i in stored if i.guid == "notes-2026-001")
    assert batching.tags == ["serving", "cost"] and batching.engagement == {"comments": 12}
    assert batching.enclosures[0]["type"] == "audio/mpeg"
    assert batching.canonical_url.endswith("/posts/batching?page=2")
    assert batching.published_at.tzinfo is not None
    with any_ctx.session() as session:
        jobs = session.scalars(select(Job.subject_id).where(Job.stage == "extract")).all()
    assert sorted(jobs) == sorted(report.details["new_item_ids"]) == [i.id for i in stored]
    row = source_row(any_ctx, "Notes")
    assert row.items_count == 3 and row.consecutive_errors == 0 and row.etag
    assert row.last_success_at is not None and row.last_item_at is not None
    # <ttl>90</ttl> stretches the 30-minute interval, also after a 304 (which has no <ttl>).
    assert row.next_fetch_at - row.last_fetch_at == timedelta(minutes=90)
    assert run_collect(any_ctx, force=True).details["not_modified"] == 1
    row = source_row(any_ctx, "Notes")
    assert row.next_fetch_at - row.last_fetch_at == timedelta(minutes=90)


def test_run_collect_twice_gives_no_duplicates(
    make_settings: Callable[..., Settings], feed_server: FeedServer
) -> None:
    url = feed_server.add("/feed.xml", rss("Wire", [("a", "Alpha", "x"), ("b", "Beta", "y")]))
    ctx = context(make_settings, rss_source("Wire", url))
    assert run_collect(ctx).details["new_items"] == 2
    # Not due yet: nothing fetched.
    again = run_collect(ctx)
    assert again.details["not_due"] == 1 and feed_server.hits["/feed.xml"] == 1
    # Forced: fetched with validators, answered 304.
    forced = run_collect(ctx, force=True)
    assert forced.details["not_modified"] == 1 and forced.details["new_items"] == 0
    assert feed_server.seen_headers["/feed.xml"]["if-none-match"]
    # Changed body, same entries (and one new): still one row per entry.
    feed_server.add(
        "/feed.xml", rss("Wire", [("c", "Gamma", "z"), ("a", "Alpha", "x"), ("b", "Beta", "y")])
    )
    third = run_collect(ctx, force=True)
    assert third.details["new_items"] == 1 and third.details["updated_items"] == 0
    assert [i.guid for i in items(ctx)] == ["a", "b", "c"]
    assert source_row(ctx, "Wire").items_count == 3
    ctx.engine.dispose()


def test_run_collect_title_change_keeps_one_item(
    make_settings: Callable[..., Settings], feed_server: FeedServer
) -> None:
    url = feed_server.add("/feed.xml", rss("Wire", [("a", "Model launches", "first text")]))
    ctx = context(make_settings, rss_source("Wire", url))
    [first_id] = run_collect(ctx).details["new_item_ids"]
    feed_server.add(
        "/feed.xml", rss("Wire", [("a", "Model launches, benchmarks inside", "corrected text")])
    )
    report = run_collect(ctx, force=True)
    assert report.details["new_items"] == 0 and report.details["updated_items"] == 1
    [item] = items(ctx)
    assert item.id == first_id and item.title == "Model launches, benchmarks inside"
    assert item.summary == "corrected text"
    with ctx.session() as session:
        assert session.scalar(select(func.count()).select_from(Job)) == 1
    ctx.engine.dispose()


def test_run_collect_source_errors_do_not_stop_others(
    make_settings: Callable[..., Settings], feed_server: FeedServer
) -> None:
    good = feed_server.add("/good.xml", rss("Good", [("g1", "Fine", "ok")]))
    broken = feed_server.add("/broken.xml", b"boom", status=500, etag=False)
    busy = feed_server.add("/busy.xml", status=429, headers={"Retry-After": "7200"}, etag=False)
    ctx = context(
        make_settings,
        rss_source("Good", good),
        rss_source("Broken", broken),
        rss_source("Busy", busy),
    )
    before = utcnow()
    report = run_collect(ctx)
    assert (report.succeeded, report.failed) == (1, 2)
    assert any("HTTP 500" in e for e in report.errors)
    row = source_row(ctx, "Broken")
    assert row.consecutive_errors == 1 and row.last_error.startswith("fetch: ")
    assert "HTTP 500" in row.last_error and "\n" not in row.last_error
    assert row.next_fetch_at > before + timedelta(minutes=20)  # backoff from the interval
    assert source_row(ctx, "Busy").next_fetch_at >= before + timedelta(seconds=7200)
    run_collect(ctx, force=True)
    assert source_row(ctx, "Broken").consecutive_errors == 2
    feed_server.add("/broken.xml", rss("Fixed", [("f1", "Back", "again")]))
    run_collect(ctx, source="Broken", force=True)
    healed = source_row(ctx, "Broken")
    assert healed.consecutive_errors == 0 and healed.last_error is None
    ctx.engine.dispose()


def test_run_collect_refused_source_is_a_source_error(
    make_settings: Callable[..., Settings], feed_server: FeedServer
) -> None:
    url = feed_server.add("/feed.xml", rss("Local", [("a", "A", "x")]))
    ctx = context(make_settings, rss_source("Local", url), fetch={"allow_private_networks": False})
    report = run_collect(ctx)
    assert report.failed == 1 and report.failed_entirely
    assert "refused: 127.0.0.1 is a loopback address" in source_row(ctx, "Local").last_error
    assert feed_server.hits["/feed.xml"] == 0
    ctx.engine.dispose()


def test_run_collect_malformed_feed_keeps_items_and_warning(
    make_settings: Callable[..., Settings], feed_server: FeedServer
) -> None:
    url = feed_server.add("/cut.xml", (FEEDS / "rss_truncated.xml").read_bytes())
    ctx = context(make_settings, rss_source("Cut", url))
    report = run_collect(ctx)
    assert report.succeeded == 1 and report.details["new_items"] == 2
    assert source_row(ctx, "Cut").last_warning.startswith("rss: ")
    ctx.engine.dispose()


def test_run_collect_unknown_source_is_a_clear_error(ctx: Context) -> None:
    with pytest.raises(UnknownSource) as caught:
        run_collect(ctx, source="Nope")
    assert "no source named 'Nope'" in str(caught.value)


def test_run_collect_marks_removed_sources_disabled(
    make_settings: Callable[..., Settings], feed_server: FeedServer
) -> None:
    url = feed_server.add("/feed.xml", rss("Wire", [("a", "A", "x")]))
    ctx = context(make_settings, rss_source("Wire", url))
    run_collect(ctx)
    ctx.settings = make_settings(sources=[])
    assert run_collect(ctx, force=True).processed == 0
    row = source_row(ctx, "Wire")
    assert row.extra["disabled"] is True and row.items_count == 1
    assert len(items(ctx)) == 1  # never deleted
    ctx.settings = make_settings(sources=[rss_source("Wire", url)])
    assert run_collect(ctx, force=True).processed == 1
    assert source_row(ctx, "Wire").extra["disabled"] is False
    ctx.engine.dispose()


def test_run_collect_parses_in_worker_processes(
    make_settings: Callable[..., Settings], feed_server: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine, "PROCESS_POOL_MIN_FEEDS", 1)
    monkeypatch.setattr(engine.os, "cpu_count", lambda: 2)
    sources = [
        rss_source(
            f"Feed {n}",
            feed_server.add(
                f"/f{n}.xml", rss(f"F{n}", [(f"{n}-{k}", f"Item {k}", "t") for k in range(3)])
            ),
        )
        for n in range(4)
    ]
    ctx = context(make_settings, *sources)
    report = run_collect(ctx)
    assert report.succeeded == 4 and report.details["new_items"] == 12
    ctx.engine.dispose()


def test_run_collect_isolates_a_source_that_cannot_be_stored(
    make_settings: Callable[..., Settings],
    feed_server: FeedServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sources = [
        rss_source(name, feed_server.add(f"/{name}.xml", rss(name, [(f"{name}-1", "T", "x")])))
        for name in ("alpha", "bravo", "charlie")
    ]
    ctx = context(make_settings, *sources)
    with ctx.session() as session:
        bravo_id = sync_sources(session, ctx.settings)["bravo"].id
    real = collect_module.upsert_items

    def failing(session: Any, source_id: int, entries: Any) -> Any:
        if source_id == bravo_id:
            raise OperationalError("INSERT INTO items", {}, Exception("disk I/O error"))
        return real(session, source_id, entries)

    monkeypatch.setattr(collect_module, "upsert_items", failing)
    # One batch holds all three: the batch fails, then each source is retried alone.
    monkeypatch.setattr(collect_module, "collect_sources", _one_batch(engine.collect_sources))
    report = run_collect(ctx)
    assert (report.succeeded, report.failed) == (2, 1)
    assert "cannot store items" in source_row(ctx, "bravo").last_error
    assert {i.guid for i in items(ctx)} == {"alpha-1", "charlie-1"}
    ctx.engine.dispose()


def _one_batch(real: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        yield [outcome for batch in real(*args, **kwargs) for outcome in batch]

    return wrapper


def test_run_collect_stops_when_asked(
    make_settings: Callable[..., Settings], feed_server: FeedServer
) -> None:
    url = feed_server.add("/feed.xml", rss("Wire", [("a", "A", "x")]))
    ctx = context(make_settings, rss_source("Wire", url))
    ctx.stop_requested = True
    report = run_collect(ctx)
    assert report.skipped == 1 and report.succeeded == 0
    assert feed_server.hits["/feed.xml"] == 0
    assert source_row(ctx, "Wire").next_fetch_at is None  # still due next time
    ctx.engine.dispose()


def test_run_collect_reports_progress(
    make_settings: Callable[..., Settings], feed_server: FeedServer
) -> None:
    sources = [
        rss_source(f"S{n}", feed_server.add(f"/{n}.xml", rss("S", [(f"{n}", "T", "x")])))
        for n in range(3)
    ]
    ctx = context(make_settings, *sources)
    seen: list[tuple[str, int | None, int]] = []

    @contextmanager
    def progress(label: str, total: int | None = None) -> Iterator[Any]:
        task = SimpleNamespace(done=0)
        task.advance = lambda n=1: setattr(task, "done", task.done + n)
        yield task
        seen.append((label, total, task.done))

    ctx.progress = progress
    run_collect(ctx)
    assert seen == [("collect", 3, 3)]
    ctx.engine.dispose()


def test_run_collect_stores_a_batch_of_304s_with_one_update(
    make_settings: Callable[..., Settings],
    db_url: str,
    feed_server: FeedServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sources = [
        rss_source(f"Wire {n}", feed_server.add(f"/w{n}.xml", rss(f"W{n}", [(f"w{n}", "A", "b")])))
        for n in range(6)
    ]
    ctx = context(make_settings, *sources, database={"url": db_url})
    assert run_collect(ctx).details["new_items"] == 6
    rows = [source_row(ctx, s["name"]) for s in sources]
    before = {row.name: (row.etag, row.next_fetch_at) for row in rows}
    batches: list[int] = []
    real = collect_module.collect_sources

    def counted(*args: Any, **kwargs: Any) -> Iterator[list[engine.Outcome]]:
        for batch in real(*args, **kwargs):
            batches.append(len(batch))
            yield batch

    statements: list[tuple[str, bool]] = []

    def record(conn: Any, cursor: Any, sql: str, params: Any, context: Any, many: bool) -> None:
        if sql.lstrip().upper().startswith("UPDATE SOURCES"):
            statements.append((sql, many))

    monkeypatch.setattr(collect_module, "collect_sources", counted)
    event.listen(ctx.engine, "before_cursor_execute", record)
    report = run_collect(ctx, force=True)
    event.remove(ctx.engine, "before_cursor_execute", record)
    assert report.details["not_modified"] == 6 and report.failed == 0
    # One UPDATE .. WHERE id IN (..) per batch of 304s, never one per source.
    assert len(statements) == len(batches) and not any(many for _, many in statements)
    assert sum(batches) == 6 and all(" IN " in sql.upper() for sql, _ in statements)
    for name, (etag, next_fetch) in before.items():
        row = source_row(ctx, name)
        assert row.last_status == 304 and row.etag == etag and row.next_fetch_at > next_fetch
    ctx.engine.dispose()
