"""Site paths (DESIGN.md section 4): permalinks that never change, safe as file names."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from datetime import UTC

from aggregator.publish.data import SourceInfo, StoryRow
from aggregator.slugs import slugify

WEEK_RE = re.compile(r"^\d{4}-W\d{2}$")
_CLEAN_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


def assign_story_paths(stories: Iterable[StoryRow]) -> None:
    """Set each story's `path` (items/YYYY/MM/<slug>/); the older id keeps a contested slug."""
    taken: set[str] = set()
    for row in sorted(stories, key=lambda r: r.id):
        when = row.published_at.astimezone(UTC)
        month = f"{when.year:04d}/{when.month:02d}"
        slug = (
            row.slug
            if row.slug and _CLEAN_SLUG.match(row.slug)
            else slugify(row.slug or row.title, fallback=slugify(row.uid, fallback="story"))
        )
        path = f"items/{month}/{slug}/"
        if path in taken:
            path = f"items/{month}/{slug}-{slugify(row.uid, fallback=str(row.id))[:8]}/"
        if path in taken:
            path = f"items/{month}/{slug}-{row.id}/"
        taken.add(path)
        row.path = path


def source_slug(name: str) -> str:
    """Return a source's slug from its name alone: transliterated, else a short hash."""
    from anyascii import anyascii

    digest = hashlib.sha1(name.encode("utf-8")).hexdigest()[:8]
    return slugify(anyascii(name), fallback=f"source-{digest}", max_length=60)


def assign_source_slugs(sources: list[SourceInfo]) -> list[SourceInfo]:
    """Return the sources, ordered by name, each with a slug that depends on its own name.

    Only names that slug alike (differing in accents or punctuation) meet: the first by
    name keeps the plain slug, the others add a hash of their own name.
    """
    out: list[SourceInfo] = []
    taken: set[str] = set()
    for source in sorted(sources, key=lambda s: s.name):
        slug = source_slug(source.name)
        if slug in taken:
            slug = f"{slug}-{hashlib.sha1(source.name.encode('utf-8')).hexdigest()[:6]}"
        taken.add(slug)
        out.append(SourceInfo(source.name, source.kind, source.url, slug))
    return out


def row_fingerprint(row: StoryRow) -> str:
    """Return a fingerprint of what listings show about a story."""
    data = (
        row.uid,
        row.path,
        row.title,
        row.hook,
        row.iso,
        row.day,
        row.week,
        row.source,
        row.topics,
        row.mode,
        row.updated_at.timestamp(),
        row.content_hash,
        row.item_count,
        row.source_count,
    )
    return hashlib.sha1(repr(data).encode("utf-8", "replace")).hexdigest()


def safe_week(week: str) -> str | None:
    """Return the week if it looks like 2026-W47 (safe in a path), else None."""
    return week if isinstance(week, str) and WEEK_RE.match(week) else None


def relative_root(path: str) -> str:
    """Return the prefix leading from a page at `path` back to the site root ("" or "../../")."""
    depth = path.count("/")
    return "../" * depth


def page_file(path: str) -> str:
    """Return the file written for a page path: "a/b/" -> "a/b/index.html"."""
    return path + "index.html" if path.endswith("/") or not path else path
