"""Generic recap rendering: the recap JSON's shape is owned by the recap stage, so read it loosely."""

from __future__ import annotations

from typing import Any

from aggregator.publish.sanitize import clean_text

_TITLE_KEYS = ("title", "heading", "name", "topic", "headline")
_TEXT_KEYS = (
    "intro",
    "synthesis",
    "summary",
    "text",
    "body",
    "why_it_matters",
    "blurb",
    "description",
)
_POINT_KEYS = ("items", "points", "bullets", "stories", "highlights", "entries")
_LINK_KEYS = ("story_uid", "uid", "story_id", "id")


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value] if value.strip() else []
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str) and v.strip()]
    return []


def _first(data: dict[str, Any], keys: tuple[str, ...]) -> str:
    for key in keys:
        found = _strings(data.get(key))
        if found:
            return found[0]
    return ""


def _point(entry: Any, links: dict[Any, str]) -> dict[str, str] | None:
    if isinstance(entry, str):
        return {"title": "", "text": entry, "href": "", "source": ""} if entry.strip() else None
    if not isinstance(entry, dict):
        return None
    title = _first(entry, _TITLE_KEYS)
    text = _first(entry, _TEXT_KEYS)
    href = next(
        (
            links[entry[k]]
            for k in _LINK_KEYS
            if isinstance(entry.get(k), str | int) and entry[k] in links
        ),
        "",
    )
    if not title and not text:
        return None
    source = entry.get("source") if isinstance(entry.get("source"), str) else ""
    return {"title": title, "text": text, "href": href, "source": source.strip()}


def _story_points(ids: Any, links: dict[Any, str], titles: dict[Any, str]) -> list[dict[str, str]]:
    """Return linked points for the stories a recap names by id (unknown ids are skipped)."""
    if not isinstance(ids, list):
        return []
    return [
        {"title": titles[i], "text": "", "href": links.get(i, ""), "source": ""}
        for i in ids
        if isinstance(i, str | int) and i in titles
    ]


def _section(
    sec: Any, links: dict[Any, str], titles: dict[Any, str] | None = None
) -> dict[str, Any] | None:
    if isinstance(sec, str):
        return {"title": "", "paragraphs": [sec], "points": [], "html": ""} if sec.strip() else None
    if not isinstance(sec, dict):
        return None
    paragraphs = [p for key in _TEXT_KEYS for p in _strings(sec.get(key))]
    points = [
        p
        for key in _POINT_KEYS
        for e in (sec.get(key) or [])
        if isinstance(sec.get(key), list)
        for p in [_point(e, links)]
        if p
    ]
    # Stories the section already told line by line are not listed a second time.
    told = {p["href"] for p in points if p["href"]}
    points += [
        p for p in _story_points(sec.get("story_ids"), links, titles or {}) if p["href"] not in told
    ]
    html = sec.get("html") if isinstance(sec.get("html"), str) else ""
    title = _first(sec, _TITLE_KEYS)
    if not (title or paragraphs or points or html):
        return None
    return {"title": title, "paragraphs": paragraphs, "points": points, "html": html}


def recap_body(
    recap: dict[str, Any], links: dict[Any, str], titles: dict[Any, str] | None = None
) -> dict[str, Any]:
    """Return {intro, sections, watch, top} read from a recap's JSON.

    links map story ids to item paths, titles map story ids to their titles.
    """
    recap = recap if isinstance(recap, dict) else {}
    sections = recap.get("sections") if isinstance(recap.get("sections"), list) else []
    watch_raw = recap.get("what_to_watch") or recap.get("watch") or []
    watch = []
    for entry in watch_raw if isinstance(watch_raw, list) else [watch_raw]:
        text = (
            entry
            if isinstance(entry, str)
            else _first(entry, _TEXT_KEYS + _TITLE_KEYS)
            if isinstance(entry, dict)
            else ""
        )
        if clean_text(text):
            watch.append(text)
    return {
        "intro": _first(recap, ("intro", "summary", "lede", "overview")),
        "sections": [s for s in (_section(x, links, titles) for x in sections) if s],
        "watch": watch,
        "top": _story_points(
            [e.get("story_id") for e in recap.get("top_links") or [] if isinstance(e, dict)],
            links,
            titles or {},
        ),
    }


def recap_summary(body: dict[str, Any], title: str) -> str:
    """Return a one-paragraph plain summary of a recap for feeds and meta descriptions."""
    return clean_text(body["intro"] or title, single_line=True)[:300]
