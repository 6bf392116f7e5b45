"""Item pages and the planner API files: api/items/<id>.json, api/weeks/*, api/items.json, topics."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from aggregator.log import event
from aggregator.progress import Progress
from aggregator.publish.api import envelope, item_record
from aggregator.publish.api_schema import api_schema
from aggregator.publish.build import Build, dump_json, dump_with_raw, fingerprint
from aggregator.publish.data import StoryDetail, StoryRow
from aggregator.publish.fork import can_fork
from aggregator.publish.paths import page_file
from aggregator.publish.render import iso_utc
from aggregator.publish.views import item_context

log = logging.getLogger("aggregator.publish")
HOT = 100  # newest stories (overall and per topic) whose records feed the API index and feeds


# A full build splits its item pages with a forked child (the older weeks) once there are
# this many to render; below it, forking and preloading cost more than the second core saves.
PARALLEL_MIN_STORIES = 400
# The parent also renders the listings, feeds and API while the child works, so the child
# takes a little more than half of the item pages.
CHILD_SHARE = 0.6


@dataclass
class _Week:
    """One week's item work: its stories, which need files, and its neighbours for paging."""

    week: str
    rows: list[StoryRow]
    fps: list[str]
    stale: list[StoryRow]
    same: bool  # api/weeks/<week>.json is unchanged
    newer: str | None
    older: str | None

    @property
    def busy(self) -> bool:
        """Return True when some file of this week must be written."""
        return bool(self.stale) or not self.same

    @property
    def todo(self) -> list[StoryRow]:
        """Return the stories whose details this week's files need."""
        return self.stale if self.same else self.rows


def item_pages(build: Build, progress: Progress) -> None:
    """Write item pages, api/items/<id>.json and api/weeks/<week>.json, one week at a time.

    A week whose stories' fingerprints all match the last build is skipped without loading
    its cards, which is what keeps an incremental build fast. A large build hands its older
    weeks to a forked child; `Build.finish()` merges what the child wrote before the commit.
    """
    plan = _plan(build)
    mine, theirs = _split([w for w in plan if w.busy])
    with progress("publish: items", len(build.stories)) as task:
        task.advance(sum(len(w.rows) for w in plan if not w.busy))
        if theirs:
            _start_child(build, theirs)
        for work in mine:
            _week_files(build, work, build.details(work.todo))
            # Records are kept only for the newest stories, which the API index and feeds reuse.
            build.records = {k: v for k, v in build.records.items() if k in build.hot_ids}
            task.advance(len(work.rows))
        task.advance(sum(len(w.rows) for w in theirs))  # rendering in the child, joined later


def _plan(build: Build) -> list[_Week]:
    """Return every week, newest first, with the stories whose files are out of date."""
    weeks = list(build.weeks)
    writer = build.writer
    plan = []
    for index, week in enumerate(weeks):
        rows = build.weeks[week]
        fps = [build.story_fp(r) for r in rows]
        newer = weeks[index - 1] if index > 0 else None
        older = weeks[index + 1] if index + 1 < len(weeks) else None
        stale = [
            r
            for r, fp in zip(rows, fps, strict=True)
            if not (
                writer.unchanged(page_file(r.path), fp)
                & writer.unchanged(f"api/items/{r.uid}.json", fp)
            )
        ]
        same = writer.unchanged(f"api/weeks/{week}.json", fingerprint(fps, newer, older))
        plan.append(_Week(week, rows, fps, stale, same, newer, older))
    return plan


def _split(busy: list[_Week]) -> tuple[list[_Week], list[_Week]]:
    """Return (parent's weeks, child's weeks): the child takes the older ones of a large build."""
    total = sum(len(w.todo) for w in busy)
    if total < PARALLEL_MIN_STORIES or not can_fork():
        return busy, []
    keep, mine = total * (1 - CHILD_SHARE), 0
    for index, work in enumerate(busy):
        if mine >= keep:
            return busy[:index], busy[index:]
        mine += len(work.todo)
    return busy, []


def _start_child(build: Build, weeks: list[_Week]) -> None:
    """Preload the child's cards (the child has no database), then fork it to render them."""
    jobs = _preload(build, weeks)

    def render() -> tuple[dict[str, str], list[str]]:
        writer = build.writer
        writer.files, writer.changed = {}, []
        jobs.reverse()
        while jobs:  # each week's parsed cards and records are dropped once it is written
            work, details = jobs.pop()
            _week_files(build, work, details)
            build.records.clear()
        return writer.files, writer.changed

    try:
        build.start_helper(render)
    except OSError as exc:  # could not fork: render those weeks here, one after another
        event(log, "publish: no build worker, rendering alone", level=logging.WARNING, error=exc)
        for work, details in jobs:
            _week_files(build, work, details)


def _preload(build: Build, weeks: list[_Week]) -> list[tuple[_Week, list[StoryDetail]]]:
    """Return each week with the details of its stories to render, loaded in one pass."""
    loaded = {d.row.id: d for d in build.data.load_details([r.id for w in weeks for r in w.todo])}
    return [(w, [loaded[r.id] for r in w.todo if r.id in loaded]) for w in weeks]


def _week_files(build: Build, work: _Week, details: list[StoryDetail]) -> None:
    """Emit the files of one week's out-of-date stories, and the week's API file if needed."""
    for detail in details:
        _item_files(build, detail)
    if not work.same:
        build.writer.emit(
            f"api/weeks/{work.week}.json",
            fingerprint(work.fps, work.newer, work.older),
            lambda: _week_doc(build, details, work.week, work.newer, work.older),
        )


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
