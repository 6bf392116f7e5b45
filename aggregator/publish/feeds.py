"""Atom feeds (all stories, per topic, recaps) and a JSON Feed 1.1 of recaps.

An entry's id is its permalink and never changes; its `updated` is the card's update time, so
it moves only when the card changes. Feed-level `updated` is the newest entry's.
"""

from __future__ import annotations

from typing import Any

from aggregator.publish.build import Build, fingerprint, json_feed
from aggregator.publish.data import StoryDetail, StoryRow
from aggregator.publish.history import write_change_feeds
from aggregator.publish.pages import recap_links, recap_titles
from aggregator.publish.recaps import recap_body, recap_summary
from aggregator.publish.render import iso_utc
from aggregator.publish.sanitize import safe_url

FEED_SIZE = 50
RECAP_FEED_SIZE = 52
EPOCH = "1970-01-01T00:00:00Z"


def _story_entry(build: Build, detail: StoryDetail, cache: dict[int, dict]) -> dict[str, Any]:
    if detail.row.id in cache:
        return cache[detail.row.id]
    row, card = detail.row, detail.card
    primary = detail.items[0] if detail.items else None
    tldr = card.get("tldr") if isinstance(card.get("tldr"), dict) else {}
    takeaways = [
        p.get("text")
        for p in card.get("key_takeaways") or []
        if isinstance(p, dict) and p.get("text")
    ]
    content = build.env.get_template("feeds/card_content.html").render(
        hook=card.get("hook") or row.hook,
        tldr=tldr,
        takeaways=takeaways,
        mode=detail.meta.mode,
        source=primary.source if primary else "",
        source_url=safe_url(primary.url) if primary else None,
    )
    entry = {
        "id": build.config.base_url + row.path,
        "title": card.get("title") or row.title,
        "related": safe_url(primary.url) if primary else None,
        "published": iso_utc(row.published_at),
        "updated": iso_utc(detail.meta.updated_at),
        "author": row.source or "unknown",
        "categories": [{"term": s, "label": build.names.get(s, s)} for s, _ in row.topics],
        "summary": card.get("hook") or row.hook,
        "content_html": content,
    }
    cache[row.id] = entry
    return entry


def _atom(
    build: Build, rel: str, title: str, subtitle: str, home: str, make_entries: Any, fp: str
) -> None:
    base = build.config.base_url

    def render() -> str:
        entries = make_entries()
        feed = {
            "id": base + rel,
            "self_url": base + rel,
            "home_url": base + home,
            "title": title,
            "subtitle": subtitle,
            "updated": max((e["updated"] for e in entries), default=EPOCH),
        }
        return build.env.get_template("feeds/atom.xml").render(feed=feed, entries=entries)

    build.writer.emit(rel, fp, render)


def _story_feed(
    build: Build, rel: str, title: str, home: str, rows: list[StoryRow], cache: dict[int, dict]
) -> None:
    top = rows[:FEED_SIZE]
    fp = fingerprint([build.story_fp(r) for r in top], title, home)
    _atom(
        build,
        rel,
        title,
        build.config.description,
        home,
        lambda: [_story_entry(build, d, cache) for d in build.details(top)],
        fp,
    )


def write_feeds(build: Build) -> None:
    """Write feeds/items.xml, feeds/topics/<slug>.xml, feeds/recaps.xml and feeds/recaps.json."""
    cache: dict[int, dict] = {}
    site = build.config.title
    _story_feed(build, "feeds/items.xml", f"{site}: all stories", "", build.stories, cache)
    for topic in build.config.topics:
        _story_feed(
            build,
            f"feeds/topics/{topic.slug}.xml",
            f"{site}: {topic.name}",
            f"topics/{topic.slug}/",
            build.topic_rows(topic.slug),
            cache,
        )
    recap_feeds(build)
    write_change_feeds(build, _atom)


def _recap_entries(build: Build) -> list[dict[str, Any]]:
    base, links = build.config.base_url, recap_links(build)
    entries = []
    weeks = sorted(build.data.recaps, reverse=True)[:RECAP_FEED_SIZE]
    for week in weeks:
        recap = build.data.recaps[week]
        body = recap_body(recap.recap, links, recap_titles(build))
        content = build.env.get_template("feeds/recap_content.html").render(body=body)
        stamp = iso_utc(recap.created_at)
        entries.append(
            {
                "id": f"{base}recaps/{week}/",
                "title": recap.title,
                "related": None,
                "published": stamp,
                "updated": stamp,
                "author": build.config.title,
                "categories": [],
                "summary": recap_summary(body, recap.title),
                "content_html": content,
            }
        )
    return entries


def recap_feeds(build: Build) -> None:
    """Write the recaps as Atom and as JSON Feed 1.1 (latest revision of each week)."""
    base, site = build.config.base_url, build.config.title
    fp = fingerprint(sorted((w, repr(r)) for w, r in build.data.recaps.items()))
    entries: list[dict[str, Any]] = []

    def get_entries() -> list[dict[str, Any]]:
        if not entries:
            entries.extend(_recap_entries(build))
        return entries

    _atom(
        build,
        "feeds/recaps.xml",
        f"{site}: weekly recaps",
        "The week's top stories.",
        "recaps/",
        get_entries,
        fp,
    )

    head = {
        "title": f"{site}: weekly recaps",
        "home_page_url": f"{base}recaps/",
        "feed_url": f"{base}feeds/recaps.json",
        "description": "The week's top stories.",
        "language": build.config.language,
    }
    build.writer.emit("feeds/recaps.json", fp, lambda: json_feed(head, get_entries(), site))
