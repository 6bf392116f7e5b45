"""Page contexts: turn plain story data into what the templates show."""

from __future__ import annotations

from typing import Any

from aggregator.publish.data import ItemRow, SiteConfig, StoryDetail, StoryRow
from aggregator.publish.history import page_history
from aggregator.publish.render import _text_fragment
from aggregator.publish.sanitize import safe_url
from aggregator.summarize.basis import MIN_DEEP_WORDS

SECTIONS = (
    ("key_takeaways", "key-takeaways", "Key takeaways"),
    ("technical_deep_dive", "technical-deep-dive", "Technical deep dive"),
    ("future_implications", "future-implications", "Future implications"),
)
REDDIT = "https://www.reddit.com"


def topic_names(config: SiteConfig) -> dict[str, str]:
    """Return configured topic names by slug."""
    return {t.slug: t.name for t in config.topics}


def _int(value: Any) -> int | None:
    try:
        return None if value is None or isinstance(value, bool) else int(value)
    except (TypeError, ValueError):
        return None


def discussion(item: ItemRow) -> dict[str, Any] | None:
    """Return {source, url, score, comments} for an item with a discussion thread, else None."""
    eng = item.engagement if isinstance(item.engagement, dict) else {}
    is_reddit = "reddit" in (item.kind, item.source_kind)
    if not is_reddit and not eng:
        return None
    link = eng.get("permalink") or eng.get("discussion_url") or eng.get("comments_url")
    if isinstance(link, str) and link.startswith("/"):
        link = REDDIT + link
    url = safe_url(link) or (safe_url(item.url) if is_reddit else None)
    score = _int(eng.get("score"))
    comments = _int(eng.get("comments", eng.get("num_comments")))
    if url is None and score is None and comments is None:
        return None
    return {"source": item.source, "url": url, "score": score, "comments": comments}


def engagement(items: list[ItemRow]) -> dict[str, Any] | None:
    """Return the story's engagement: best score, total comments, the top discussion's URL."""
    threads = [d for d in (discussion(i) for i in items) if d]
    if not threads:
        return None
    best = max(threads, key=lambda d: (d["score"] or 0, d["comments"] or 0))
    counted = [d["comments"] for d in threads if d["comments"] is not None]
    return {
        "score": best["score"],
        "comments": sum(counted) if counted else None,
        "discussion_url": best["url"],
        "discussions": len(threads),
    }


def points_with_notes(card: dict[str, Any], source_url: str | None) -> tuple[list, list]:
    """Return (sections, notes): points carry footnote numbers, notes quote the article once each."""
    sections: list[dict[str, Any]] = []
    notes: list[dict[str, Any]] = []
    numbers: dict[str, int] = {}
    for key, anchor, title in SECTIONS:
        points = []
        for point in card.get(key) or []:
            if (
                not isinstance(point, dict)
                or not isinstance(point.get("text"), str)
                or not point["text"].strip()
            ):
                continue
            refs = []
            for quote in point.get("citations") or []:
                quote = " ".join(quote.split()) if isinstance(quote, str) else ""
                if not quote:
                    continue
                if quote not in numbers:
                    numbers[quote] = len(numbers) + 1
                    url = _text_fragment(source_url, quote) if source_url else None
                    notes.append({"n": numbers[quote], "quote": quote, "url": url})
                refs.append(numbers[quote])
            points.append({"text": point["text"], "notes": refs})
        if points:
            sections.append({"id": anchor, "title": title, "points": points, "empty": ""})
        elif key == "future_implications" and sections:
            # Not hidden: the source simply does not say what comes next.
            sections.append({"id": anchor, "title": title, "points": [], "empty": NO_FUTURE})
    return sections, notes


NO_NEXT_STEP = "The source states no next step."
NO_FUTURE = "The source says nothing about what comes next."


def thread_points(card: dict[str, Any]) -> dict[str, Any] | None:
    """Return the card's "What the discussion adds" ({points, disputes}) with safe links, or None."""
    found = card.get("discussion") if isinstance(card.get("discussion"), dict) else {}
    points = []
    for point in found.get("points") or []:
        if isinstance(point, dict) and isinstance(point.get("quote"), str) and point["quote"]:
            text = point.get("text") if isinstance(point.get("text"), str) else point["quote"]
            score = _int(point.get("score"))
            url = safe_url(point.get("comment_url"))
            points.append({"text": text, "quote": point["quote"], "comment_url": url,
                           "score": score or 0})  # fmt: skip
    return {"points": points, "disputes": bool(found.get("disputes"))} if points else None


def card_basis(card: dict[str, Any]) -> dict[str, Any] | None:
    """Return the card's basis {kind, words, note}, or None for cards written before it existed."""
    basis = card.get("basis") if isinstance(card.get("basis"), dict) else {}
    kind, words = basis.get("kind"), _int(basis.get("words"))
    if kind not in ("full_text", "feed_excerpt", "title_only") or words is None:
        return None
    if kind == "title_only":
        note = "Written from the headline only: the article's text was not available."
    else:
        what = "the feed's excerpt" if kind == "feed_excerpt" else "the source's text"
        note = f"Written from {what} ({words} words)."
        if words < MIN_DEEP_WORDS:
            note += " Too short to ground a Deep insight, so this card is a TL;DR only."
    return {"kind": kind, "words": words, "note": note}


def story_topics(row: StoryRow, names: dict[str, str]) -> list[dict[str, Any]]:
    """Return the story's topics, best first, with names and whether they are configured."""
    return [
        {"slug": slug, "name": names.get(slug, slug), "score": score, "configured": slug in names}
        for slug, score in row.topics
    ]


def item_context(
    detail: StoryDetail, rows: dict[int, StoryRow], config: SiteConfig
) -> dict[str, Any]:
    """Return the template context of one item page."""
    row, card = detail.row, detail.card
    primary = detail.items[0] if detail.items else None
    source_url = safe_url(primary.url) if primary else None
    sections, notes = points_with_notes(card, source_url)
    tldr = card.get("tldr") if isinstance(card.get("tldr"), dict) else {}
    entities = [e for e in card.get("entities") or [] if isinstance(e, str) and e.strip()]
    return {
        "story": row,
        "meta": detail.meta,
        "card_title": card.get("title") or row.title,
        "hook": card.get("hook") or row.hook,
        "page_title": card.get("title") or row.title,
        "description": card.get("hook") or row.hook,
        "og_type": "article",
        "tldr": {k: tldr.get(k, "") for k in ("what_changed", "why_it_matters")}
        | {"what_to_do_next": tldr.get("what_to_do_next") or NO_NEXT_STEP},
        "basis": card_basis(card),
        "thread": thread_points(card),
        "self_post": bool(primary and primary.kind == "self"),
        "sections": sections,
        "notes": notes,
        "entities": entities,
        "topics": story_topics(row, topic_names(config)),
        "primary": primary,
        "primary_url": source_url,
        "also": [
            {"source": i.source, "title": i.title, "safe_url": safe_url(i.url)}
            for i in detail.items[1:]
            if "reddit" not in (i.kind, i.source_kind)
        ],
        "discussions": [d for d in (discussion(i) for i in detail.items) if d],
        "related": [rows[r] for r in detail.related if r in rows],
        "history": page_history(detail),
    }
