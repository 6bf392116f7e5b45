"""Item pages and the planner API files: api/items/<id>.json, api/weeks/*, api/items.json, topics."""

from __future__ import annotations

from typing import Any

from aggregator.progress import Progress
from aggregator.publish.api import envelope, item_record
from aggregator.publish.api_schema import api_schema
from aggregator.publish.build import Build, dump_json, dump_with_raw, fingerprint
from aggregator.publish.data import StoryDetail, StoryRow
from aggregator.publish.paths import page_file
from aggregator.publish.render import iso_utc
from aggregator.publish.views import item_context

HOT = 100  # newest stories (overall and per topic) whose records feed the API index and feeds


def item_pages(build: Build, progress: Progress) -> None:
    """Write item pages, api/items/<id>.json and api/weeks/<week>.json, one week at a time.

    A week whose stories' fingerprints all match the last build is skipped without loading
    its cards, which is what keeps an incremental build fast.
    """
    weeks = list(build.weeks)
    writer = build.writer
    with progress("publish: items", len(build.stories)) as task:
        for index, week in enumerate(weeks):
            rows = build.weeks[week]
            fps = [build.story_fp(r) for r in rows]
            newer = weeks[index - 1] if index > 0 else None
            older = weeks[index + 1] if index + 1 < len(weeks) else None
            week_rel, week_fp = f"api/weeks/{week}.json", fingerprint(fps, newer, older)
            stale = [
                r
                for r, fp in zip(rows, fps, strict=True)
                if not (
                    writer.unchanged(page_file(r.path), fp)
                    & writer.unchanged(f"api/items/{r.uid}.json", fp)
                )
            ]
            week_same = writer.unchanged(week_rel, week_fp)
            if stale or not week_same:
                details = build.details(rows if not week_same else stale)
                for detail in details:
                    _item_files(build, detail)
                if not week_same:
                    writer.emit(
                        week_rel,
                        week_fp,
                        lambda d=details, w=week, n=newer, o=older: _week_doc(build, d, w, n, o),
                    )
            # Records are kept only for the newest stories, which the API index and feeds reuse.
            build.records = {k: v for k, v in build.records.items() if k in build.hot_ids}
            task.advance(len(rows))


def _record(build: Build, detail: StoryDetail) -> str:
    """Return the story's API record as JSON text, serialized once and reused by every file."""
    record = build.records.get(detail.row.id)
    if record is None:
        record = build.records[detail.row.id] = dump_json(
            item_record(detail, build.rows, build.config)
        ).decode("utf-8")
    return record


def _records(build: Build, details: list[StoryDetail]) -> str:
    return "[" + ",".join(_record(build, d) for d in details) + "]"


def _latest(details: list[StoryDetail]) -> str | None:
    return max((iso_utc(d.meta.updated_at) for d in details), default=None)


def _item_files(build: Build, detail: StoryDetail) -> None:
    row = detail.row
    fp = build.story_fp(row)
    build.page(row.path, fp, "item.html", lambda: item_context(detail, build.rows, build.config))
    build.writer.emit(
        f"api/items/{row.uid}.json",
        fp,
        lambda: dump_with_raw(envelope("item", build.config), "item", _record(build, detail)),
    )


def _week_doc(
    build: Build, details: list[StoryDetail], week: str, newer: str | None, older: str | None
) -> bytes:
    base = build.config.base_url
    doc = envelope(
        "week",
        build.config,
        week=week,
        updated_at=_latest(details),
        count=len(details),
        recap_url=f"{base}recaps/{week}/",
        previous_url=f"{base}api/weeks/{older}.json" if older else None,
        next_url=f"{base}api/weeks/{newer}.json" if newer else None,
    )
    return dump_with_raw(doc, "items", _records(build, details))


def api_indexes(build: Build) -> None:
    """Write api/items.json (newest stories, links to weeks), api/topics/*.json, api/schema.json."""
    base, config = build.config.base_url, build.config
    newest = build.stories[:HOT]
    weeks = [
        {
            "week": w,
            "url": f"{base}api/weeks/{w}.json",
            "count": len(rows),
            "updated_at": iso_utc(max(r.updated_at for r in rows)),
            "recap_url": f"{base}recaps/{w}/",
        }
        for w, rows in build.weeks.items()
    ]
    topics = [
        {
            "slug": t.slug,
            "name": t.name,
            "url": f"{base}api/topics/{t.slug}.json",
            "feed_url": f"{base}feeds/topics/{t.slug}.xml",
            "count": len(build.topic_rows(t.slug)),
        }
        for t in config.topics
    ]
    fp = fingerprint([build.story_fp(r) for r in newest], weeks, topics)

    def index() -> bytes:
        details = build.details(newest)
        doc = envelope(
            "index",
            config,
            updated_at=_latest(details),
            total=len(build.stories),
            count=len(details),
            weeks=weeks,
            topics=topics,
        )
        return dump_with_raw(doc, "items", _records(build, details))

    build.writer.emit("api/items.json", fp, index)
    for topic in config.topics:
        rows = build.topic_rows(topic.slug)
        top = rows[:HOT]
        build.writer.emit(
            f"api/topics/{topic.slug}.json",
            fingerprint([build.story_fp(r) for r in top], topic, len(rows)),
            lambda t=topic, top=top, n=len(rows): _topic_doc(build, t, top, n),
        )
    build.writer.emit(
        "api/schema.json", fingerprint(base), lambda: dump_json(api_schema(base), pretty=True)
    )


def _topic_doc(build: Build, topic: Any, top: list[StoryRow], total: int) -> bytes:
    details = build.details(top)
    doc = envelope(
        "topic",
        build.config,
        topic={"slug": topic.slug, "name": topic.name, "description": topic.description},
        updated_at=_latest(details),
        total=total,
        count=len(details),
        feed_url=f"{build.config.base_url}feeds/topics/{topic.slug}.xml",
    )
    return dump_with_raw(doc, "items", _records(build, details))
