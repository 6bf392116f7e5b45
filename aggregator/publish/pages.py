"""Listing, directory, recap and fixed pages, robots.txt and the sitemap."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from aggregator.publish.build import Build, fingerprint
from aggregator.publish.data import StoryRow
from aggregator.publish.recaps import recap_body, recap_summary


def page_chunks(rows: list[StoryRow], size: int) -> tuple[list[StoryRow], list[list[StoryRow]]]:
    """Return (front page, numbered pages 1..n) partitioning the rows (newest first in each).

    The front page holds the newest `size` stories; the rest fill page-1, page-2, ... counted
    from the oldest, so every page but the newest numbered one is full and stays the same as
    stories arrive. No story is on two pages.
    """
    size = max(1, size)
    front, older = rows[:size], rows[size:][::-1]
    return front, [older[i : i + size][::-1] for i in range(0, len(older), size)]


def _paged(
    build: Build, prefix: str, rows: list[StoryRow], heading: str, intro: str, **extra: Any
) -> None:
    """Write a list: index.html with the newest stories, then page-N.html counted from the oldest.

    Counting from the oldest keeps every full page's content stable as stories arrive, so an
    incremental build rewrites only the front page and the newest numbered page.
    """
    front_rows, numbered = page_chunks(rows, build.config.items_per_page)
    full = len(numbered)
    base = {
        "heading": heading,
        "intro": intro,
        "page_title": heading,
        "description": intro or heading,
        "newer_label": "Newer",
        "older_label": "Older",
        "feed": None,
        "api": None,
        "external": None,
        **extra,
    }
    front = {
        **base,
        "stories": front_rows,
        "newer": None,
        "older": f"page-{full}.html" if full else None,
    }
    build.page(prefix, _ctx_fp(build, front), "list.html", front)
    date = build.env.filters["date"]
    for k, chunk in enumerate(numbered, start=1):
        title = f"{heading}: {date(chunk[-1].published_at)} to {date(chunk[0].published_at)}"
        ctx = {
            **base,
            "stories": chunk,
            "heading": title,
            "page_title": title,
            "intro": "",
            "newer": "index.html" if k == full else f"page-{k + 1}.html",
            "older": f"page-{k - 1}.html" if k > 1 else None,
        }
        build.page(f"{prefix}page-{k}.html", _ctx_fp(build, ctx), "list.html", ctx)


def _ctx_fp(build: Build, ctx: dict[str, Any]) -> str:
    """Return a listing page's fingerprint: its stories' fingerprints plus its other values."""
    rest = sorted((k, repr(v)) for k, v in ctx.items() if k != "stories")
    return build.list_fp(ctx.get("stories") or [], rest)


def _by_source(build: Build) -> dict[str, list[StoryRow]]:
    groups: dict[str, list[StoryRow]] = defaultdict(list)
    for row in build.stories:
        groups[row.source].append(row)
    return groups


def listing_pages(build: Build) -> None:
    """Write the front page, each topic's and each source's paginated list."""
    config = build.config
    _paged(
        build,
        "",
        build.stories,
        "Latest stories",
        config.description,
        feed="feeds/items.xml",
        api="api/items.json",
    )
    for topic in config.topics:
        _paged(
            build,
            f"topics/{topic.slug}/",
            build.topic_rows(topic.slug),
            topic.name,
            topic.description,
            feed=f"feeds/topics/{topic.slug}.xml",
            api=f"api/topics/{topic.slug}.json",
        )
    groups = _by_source(build)
    for source in build.data.sources:
        external = {"url": source.url, "label": f"Visit {source.name}"} if source.url else None
        _paged(
            build,
            f"sources/{source.slug}/",
            groups.get(source.name, []),
            source.name,
            f"Stories first reported by {source.name} ({source.kind}).",
            external=external,
        )


def _directory(build: Build, path: str, heading: str, intro: str, entries: list[dict]) -> None:
    ctx = {
        "heading": heading,
        "intro": intro,
        "page_title": heading,
        "description": intro,
        "entries": entries,
    }
    build.page(path, fingerprint(sorted(ctx.items(), key=str)), "directory.html", ctx)


def recap_weeks(build: Build) -> list[str]:
    """Return every week with stories or a recap, newest first."""
    return sorted(set(build.weeks) | set(build.data.recaps), reverse=True)


def directory_pages(build: Build) -> None:
    """Write topics/, sources/, archive/ and archive/<week>/ pages."""
    groups = _by_source(build)
    _directory(
        build,
        "topics/",
        "Topics",
        "Every story is filed under the topics it covers.",
        [
            {
                "href": f"topics/{t.slug}/index.html",
                "label": t.name,
                "note": t.description,
                "count": len(build.topic_rows(t.slug)),
            }
            for t in build.config.topics
        ],
    )
    _directory(
        build,
        "sources/",
        "Sources",
        "Where the stories come from.",
        [
            {
                "href": f"sources/{s.slug}/index.html",
                "label": s.name,
                "note": s.kind,
                "count": len(groups.get(s.name, [])),
            }
            for s in build.data.sources
        ],
    )
    archive_pages(build)


def archive_pages(build: Build) -> None:
    """Write archive/ (the weeks) and archive/<week>/ (that week's stories)."""
    weeks = list(build.weeks)
    _directory(
        build,
        "archive/",
        "Archive",
        "Every story, week by week.",
        [
            {
                "href": f"archive/{w}/index.html",
                "label": f"Week {w}",
                "note": "",
                "count": len(build.weeks[w]),
            }
            for w in weeks
        ],
    )
    for i, week in enumerate(weeks):
        rows = build.weeks[week]
        ctx = {
            "heading": f"Week {week}",
            "intro": f"{len(rows)} stories.",
            "stories": rows,
            "page_title": f"Week {week}",
            "description": f"Stories of week {week}",
            "newer": f"../{weeks[i - 1]}/index.html" if i > 0 else None,
            "older": f"../{weeks[i + 1]}/index.html" if i + 1 < len(weeks) else None,
            "newer_label": "Next week",
            "older_label": "Previous week",
            "feed": None,
            "api": f"api/weeks/{week}.json",
            "external": None,
        }
        build.page(f"archive/{week}/", _ctx_fp(build, ctx), "list.html", ctx)


def recap_links(build: Build) -> dict[Any, str]:
    """Return story id and uid -> item path, for links inside recaps."""
    links: dict[Any, str] = {}
    for row in build.stories:
        links[row.id] = links[row.uid] = row.path + "index.html"
    return links


def recap_titles(build: Build) -> dict[Any, str]:
    """Return story id and uid -> card title, for the stories a recap names."""
    titles: dict[Any, str] = {}
    for row in build.stories:
        titles[row.id] = titles[row.uid] = row.title
    return titles


def recap_pages(build: Build) -> None:
    """Write recaps/ and one page per week: the recap, or a pending page listing the week."""
    weeks, recaps, links = recap_weeks(build), build.data.recaps, recap_links(build)
    _directory(
        build,
        "recaps/",
        "Weekly recaps",
        "The week's top stories, in one read.",
        [
            {
                "href": f"recaps/{w}/index.html",
                "label": recaps[w].title if w in recaps else f"Week {w} (recap pending)",
                "note": "",
                "count": None,
            }
            for w in weeks
        ],
    )
    for i, week in enumerate(weeks):
        recap = recaps.get(week)
        body = recap_body(recap.recap, links, recap_titles(build)) if recap else None
        rows = build.weeks.get(week, [])
        if recap and recap.story_ids:
            rows = [build.rows[i] for i in recap.story_ids if i in build.rows] or rows
        heading = recap.title if recap else f"Week {week}"
        ctx = {
            "week": week,
            "recap": recap,
            "body": body,
            "stories": rows,
            "heading": heading,
            "page_title": heading,
            "description": recap_summary(body, heading) if body else f"Week {week} stories",
            "newer": f"../{weeks[i - 1]}/index.html" if i > 0 else None,
            "older": f"../{weeks[i + 1]}/index.html" if i + 1 < len(weeks) else None,
        }
        fp = build.list_fp(rows, week, repr(recap), ctx["newer"], ctx["older"])
        build.page(f"recaps/{week}/", fp, "recap.html", ctx)
