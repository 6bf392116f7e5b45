"""Build the whole site from plain data: item pages, listings, feeds, API, then swap it in."""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

from aggregator.log import event
from aggregator.progress import Progress, quiet_progress
from aggregator.publish import extras, feeds, items, pages
from aggregator.publish.build import Build, fingerprint
from aggregator.publish.data import SiteInput
from aggregator.publish.paths import assign_source_slugs, assign_story_paths, row_fingerprint
from aggregator.publish.render import STATIC, TEMPLATES, iso_utc, make_environment
from aggregator.publish.writer import SiteWriter, check_output_dir

log = logging.getLogger("aggregator.publish")
BUILD_VERSION = "1"  # bump to force every page to be rebuilt after a code change


@dataclass
class BuildResult:
    """What a build did."""

    files: int
    written: int
    stories: int
    mode: str
    html_changed: bool
    seconds: float


def environment_fingerprint(data: SiteInput) -> str:
    """Return a hash of everything besides the data that shapes output: code, templates, config."""
    h = hashlib.sha1(BUILD_VERSION.encode())
    for root in (TEMPLATES, STATIC):
        for path in sorted(root.rglob("*")):
            if path.is_file():
                h.update(str(path.relative_to(root)).encode() + path.read_bytes())
    h.update(repr((data.config, sorted(data.sources, key=lambda s: s.name))).encode())
    return h.hexdigest()


def prepare(data: SiteInput) -> None:
    """Assign paths, slugs, date labels and listing fingerprints; order stories newest first."""
    data.sources = assign_source_slugs(data.sources)
    assign_story_paths(data.stories)
    zone = ZoneInfo(data.config.timezone)
    days: dict[date, str] = {}
    for row in data.stories:
        row.iso = iso_utc(row.published_at)
        local = row.published_at.astimezone(zone).date()
        row.day = days.get(local) or days.setdefault(local, local.strftime("%-d %b %Y"))
        row.fp = row_fingerprint(row)
    data.stories.sort(key=lambda r: (r.published_at, r.id), reverse=True)


def build_site(
    data: SiteInput,
    out: Path,
    progress: Progress | None = None,
    *,
    adopt: bool = False,
    protected: Iterable[Path] = (),
) -> BuildResult:
    """Build the site into a staging dir beside `out` and swap it in; `out` is untouched on error.

    Raises UnsafeOutputDir (before writing anything) for an `out` that is not ours to manage.
    """
    started = time.perf_counter()
    check_output_dir(out, adopt, protected)
    prepare(data)
    writer = SiteWriter(out, environment_fingerprint(data))
    build: Build | None = None
    try:
        build = Build(data, writer, make_environment(data.config), data.stories)
        build.hot_ids = _hot_ids(build)
        phases = {"prepare": time.perf_counter() - started}
        for name, step in (
            ("static", static_files),
            ("items", lambda b: items.item_pages(b, progress or quiet_progress())),
            ("lists", pages.listing_pages),
            ("directories", pages.directory_pages),
            ("recaps", pages.recap_pages),
            ("fixed", extras.fixed_pages),
            ("feeds", feeds.write_feeds),
            ("api", items.api_indexes),
            ("join", Build.finish),  # the forked helper's item pages, if any
            ("commit", lambda b: phases.setdefault("mode", writer.commit())),
        ):
            begin = time.perf_counter()
            step(build)
            phases[name] = round(time.perf_counter() - begin, 3)
        mode = str(phases.pop("mode"))
    except BaseException:
        if build is not None:
            build.abort()
        writer.close(failed=True)
        raise
    writer.close()
    html = any(rel.endswith(".html") for rel in writer.changed)
    result = BuildResult(
        len(writer.files),
        len(writer.changed),
        len(data.stories),
        mode,
        html,
        time.perf_counter() - started,
    )
    event(
        log,
        "site built",
        files=result.files,
        written=result.written,
        mode=mode,
        seconds=round(result.seconds, 3),
        **{f"t_{k}": v for k, v in phases.items()},
    )
    return result


def _hot_ids(build: Build) -> set[int]:
    ids = {r.id for r in build.stories[: items.HOT]}
    for topic in build.config.topics:
        ids.update(r.id for r in build.topic_rows(topic.slug)[: items.HOT])
    return ids


def static_files(build: Build) -> None:
    """Copy the self-hosted CSS, favicon and search script."""
    for path in sorted(STATIC.rglob("*")):
        if path.is_file():
            raw = path.read_bytes()
            build.writer.emit(
                f"static/{path.relative_to(STATIC)}", fingerprint(raw), lambda r=raw: r
            )
