"""A developing story's history as published: API fields, the item page's blocks, change feeds."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from markupsafe import escape

from aggregator.publish.build import Build, fingerprint, json_feed
from aggregator.publish.data import StoryDetail
from aggregator.publish.render import iso_utc
from aggregator.publish.sanitize import clean_text, safe_url

REASONS = {
    "first": "First published",
    "new_sources": "New sources",
    "correction": "Correction",
    "retraction": "Withdrawn",
    "resummarized": "Re-summarized with a new prompt",
}
CHANGE_FEED_SIZE = 50


def _iso(value: Any) -> str:
    return iso_utc(value) if isinstance(value, datetime) else str(value or "")


def _new_point(point: dict[str, Any]) -> dict[str, Any]:
    cites = [clean_text(c) for c in point.get("citations") or [] if isinstance(c, str) and c]
    at = point.get("at")
    when = datetime.fromisoformat(at) if isinstance(at, str) and at else None
    return {
        "text": clean_text(point.get("text")),
        "citations": cites,
        "source": {
            "name": clean_text(point.get("source"), single_line=True),
            "url": safe_url(point.get("url")),
        },
        "at": iso_utc(when) if when else None,
    }


def history_fields(detail: StoryDetail) -> dict[str, Any]:
    """Return the API fields revision, revisions, whats_new and corrections of a story."""
    history = detail.history or {}
    revisions = history.get("revisions") or []
    latest_new = next((r for r in reversed(revisions) if r["reason"] == "new_sources"), None)
    return {
        "revision": revisions[-1]["revision"] if revisions else 1,
        "revisions": [
            {
                "revision": r["revision"],
                "at": _iso(r["at"]),
                "reason": r["reason"],
                "summary": clean_text(r["summary"], single_line=True),
            }
            for r in revisions
        ],
        "whats_new": [_new_point(p) for p in (latest_new or {}).get("whats_new") or []],
        "corrections": [
            {
                "revision": c["revision"],
                "at": _iso(c["at"]),
                "note": clean_text(c["note"]),
                "kind": "retraction" if c["retract"] else "correction",
            }
            for c in history.get("corrections") or []
        ],
    }


def page_history(detail: StoryDetail) -> dict[str, Any]:
    """Return the item page's blocks: notices, What's new, and the update history."""
    fields = history_fields(detail)
    revisions = (detail.history or {}).get("revisions") or []
    latest_new = next((r for r in reversed(revisions) if r["reason"] == "new_sources"), None)
    older = [
        {
            **r,
            "label": REASONS.get(r["reason"], r["reason"]),
            "iso": _iso(r["at"]),
            "card": r["card"] if isinstance(r["card"], dict) else {},
        }
        for r in reversed(revisions)
    ]
    return {
        "fields": fields,
        "retracted": any(c["kind"] == "retraction" for c in fields["corrections"]),
        "notices": [
            {**c, "when": raw["at"]}
            for c, raw in zip(
                reversed(fields["corrections"]),
                reversed((detail.history or {}).get("corrections") or []),
                strict=True,
            )
        ],
        "whats_new": fields["whats_new"],
        "whats_new_revision": latest_new["revision"] if latest_new else None,
        "whats_new_summary": latest_new["summary"] if latest_new else "",
        "revisions": older if len(revisions) > 1 or fields["corrections"] else [],
    }


def _change_entry(build: Build, change: dict[str, Any]) -> dict[str, Any] | None:
    row = build.rows.get(change["story_id"])
    if row is None:
        return None
    link = f"{build.config.base_url}{row.path}#revision-{change['revision']}"
    label = REASONS.get(change["reason"], "Updated")
    points = "".join(
        f"<li>{escape(p.get('text') or '')} ({escape(p.get('source') or '')})</li>"
        for p in change["whats_new"]
    )
    content = f"<p>{escape(change['summary'])}</p>" + (f"<ul>{points}</ul>" if points else "")
    stamp = _iso(change["at"])
    return {
        "id": link,
        "title": f"{label}: {row.title} (revision {change['revision']})",
        "related": None,
        "published": stamp,
        "updated": stamp,
        "author": row.source or "unknown",
        "categories": [{"term": change["reason"], "label": label}],
        "summary": change["summary"],
        "content_html": content,
    }


def write_change_feeds(build: Build, atom: Any) -> None:
    """Write feeds/updates.xml (+ .json) and feeds/corrections.xml: revisions and corrections."""
    site = build.config.title
    changes = [c for c in build.data.changes if c["story_id"] in build.rows]
    fixes = [c for c in changes if c["reason"] in ("correction", "retraction")]
    for rel, title, chosen in (
        ("feeds/updates.xml", f"{site}: card updates", changes),
        ("feeds/corrections.xml", f"{site}: corrections", fixes),
    ):
        top = chosen[:CHANGE_FEED_SIZE]
        fp = fingerprint(
            [(c["story_id"], c["revision"], _iso(c["at"])) for c in top],
            [build.rows[c["story_id"]].fp for c in top],
        )
        subtitle = "Revised and corrected cards." if chosen is changes else "Corrections."

        def entries(top: list[dict[str, Any]] = top) -> list[dict[str, Any]]:
            return [e for e in (_change_entry(build, c) for c in top) if e]

        atom(build, rel, title, subtitle, "", entries, fp)
        if chosen is changes:
            build.writer.emit("feeds/updates.json", fp, lambda e=entries: _json_feed(build, e()))


def _json_feed(build: Build, entries: list[dict[str, Any]]) -> bytes:
    """Return the updates as JSON Feed 1.1 (each revision's `date_modified` is its time)."""
    base = build.config.base_url
    head = {
        "title": f"{build.config.title}: card updates",
        "home_page_url": base,
        "feed_url": f"{base}feeds/updates.json",
    }
    return json_feed(head, entries)
