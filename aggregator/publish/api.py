"""The planners' API: one record per story (also what `aggregator export` returns) and envelopes."""

from __future__ import annotations

from typing import Any, get_args

from aggregator.llm.schema import Kind, TypedEntity
from aggregator.publish.data import SiteConfig, StoryDetail, StoryRow
from aggregator.publish.history import history_fields
from aggregator.publish.momentum import first_seen_at, momentum
from aggregator.publish.render import iso_utc
from aggregator.publish.sanitize import safe_url
from aggregator.publish.views import SECTIONS, card_basis, engagement, thread_points, topic_names

API_VERSION = "1.2"
TIMELINESS = ("time-bound", "evergreen")
KINDS: tuple[str, ...] = get_args(Kind)
ENTITY_TYPES: tuple[str, ...] = get_args(TypedEntity.model_fields["type"].annotation)


def _points(value: Any) -> list[dict[str, Any]]:
    # The card's strings were cleaned when it was parsed (StoryDetail.card); only shapes vary.
    out = []
    for point in value if isinstance(value, list) else []:
        text = point.get("text") if isinstance(point, dict) else None
        if isinstance(text, str) and text:
            cites = point.get("citations") if isinstance(point.get("citations"), list) else []
            out.append({"text": text, "citations": [c for c in cites if isinstance(c, str) and c]})
    return out


def card_record(card: dict[str, Any], row: StoryRow) -> dict[str, Any]:
    """Return the card normalized to the published shape (text cleaned, odd values dropped)."""
    tldr = card.get("tldr") if isinstance(card.get("tldr"), dict) else {}
    out: dict[str, Any] = {
        "title": card.get("title") or row.title,
        "hook": card.get("hook") or row.hook,
        "tldr": {
            k: tldr[k] if isinstance(tldr.get(k), str) else ""
            for k in ("what_changed", "why_it_matters", "what_to_do_next")
        },
    }
    for key, _anchor, _title in SECTIONS:
        out[key] = _points(card.get(key))
    return out


def _timeliness(card: dict[str, Any]) -> str:
    value = card.get("timeliness")
    return value if value in TIMELINESS else "time-bound"


def _kind(card: dict[str, Any]) -> str | None:
    value = card.get("kind")
    return value if value in KINDS else None  # cards written before API 1.1 have none


def _typed_entities(card: dict[str, Any]) -> list[dict[str, str]]:
    out = []
    for entity in card.get("typed_entities") or []:
        name = entity.get("name") if isinstance(entity, dict) else None
        if isinstance(name, str) and name:
            kind = entity.get("type")
            out.append({"name": name, "type": kind if kind in ENTITY_TYPES else "other"})
    return out


def item_record(detail: StoryDetail, rows: dict[int, StoryRow], config: SiteConfig) -> dict:
    """Return the planner record of one story (stable field names, see api/schema.json)."""
    row, card, meta, base = detail.row, detail.card, detail.meta, config.base_url
    names = topic_names(config)
    primary = detail.items[0] if detail.items else None
    entities = [e for e in card.get("entities") or [] if isinstance(e, str) and e]
    return {
        "id": row.uid,
        "permalink": base + row.path,
        "api_url": f"{base}api/items/{row.uid}.json",
        "url": safe_url(primary.url) if primary else None,
        "title": card.get("title") or row.title,
        "original_title": primary.title if primary else None,
        "hook": card.get("hook") or row.hook,
        "source": _source(primary),
        "author": primary.author if primary else None,
        "published_at": iso_utc(row.published_at),
        "updated_at": iso_utc(meta.updated_at),
        "week": row.week,
        "recap_url": f"{base}recaps/{row.week}/",
        "topics": [
            {"slug": s, "name": names.get(s, s), "score": round(float(v), 4)} for s, v in row.topics
        ],
        "timeliness": _timeliness(card),
        "kind": _kind(card),
        "entities": entities,
        "typed_entities": _typed_entities(card),
        "engagement": engagement(detail.items),
        "coverage": {
            "item_count": len(detail.items),
            "source_count": len({i.source for i in detail.items}),
            "sources": [
                dict(
                    _source(i) or {},
                    item_url=safe_url(i.url),
                    title=i.title,
                    published_at=iso_utc(i.published_at),
                    joined_by=_joined_by(i, detail.items),
                )
                for i in detail.items
            ],
        },
        "first_seen_at": first_seen_at(detail.items),
        "momentum": momentum(detail.items),
        "related": [rows[r].uid for r in detail.related if r in rows],
        "mode": meta.mode,
        "grounded_ratio": round(float(meta.grounded_ratio), 4),
        "generation": {
            "mode": meta.mode,
            "model": meta.model,
            "prompt_name": meta.prompt_name,
            "prompt_version": meta.prompt_version,
            "content_hash": meta.content_hash,
            # 1.2: why an extractive card stands in for the model's (null otherwise).
            "fallback_reason": meta.fallback_reason,
        },
        "card": card_record(card, row),
        # 1.1: what the card was written from, and what the discussion adds (apart from it).
        "basis": (card_basis(card) or {}).get("kind"),
        "basis_words": (card_basis(card) or {}).get("words"),
        "discussion": thread_points(card),
        **history_fields(detail),  # API 1.1: revision, revisions, whats_new, corrections
    }


def _joined_by(item: Any, items: list[Any]) -> dict[str, Any] | None:
    """Return why an item joined its story (signal, score, the member it matched), or None
    for the item that founded it."""
    if item.joined is None:
        return None
    kind, score, matched = item.joined
    member = next((i for i in items if i.id == matched), None) if matched else None
    return {
        "kind": kind,
        "score": round(score, 4),
        "matched_item_url": safe_url(member.url) if member else None,
        "matched_title": member.title if member else None,
    }


def _source(item: Any) -> dict[str, Any] | None:
    if item is None:
        return None
    return {"name": item.source, "kind": item.source_kind, "url": safe_url(item.source_url)}


def envelope(kind: str, config: SiteConfig, **fields: Any) -> dict[str, Any]:
    """Return an API document: version, kind, site, then the given fields."""
    return {
        "version": API_VERSION,
        "kind": kind,
        "site": {
            "title": config.title,
            "url": config.base_url,
            "schema": f"{config.base_url}api/schema.json",
        },
        **fields,
    }
