"""JSON Schema (2020-12) of every file under api/: the planners' contract."""

from __future__ import annotations

from typing import Any

from aggregator.publish.api import API_VERSION, ENTITY_TYPES, KINDS

_S: dict[str, Any] = {"type": "string"}
_URI: dict[str, Any] = {"type": "string", "format": "uri"}
_TIME: dict[str, Any] = {"type": "string", "format": "date-time"}
_WEEK: dict[str, Any] = {"type": "string", "pattern": r"^\d{4}-W\d{2}$"}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [schema, {"type": "null"}]}


def _obj(props: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": props,
        "required": list(props) if required is None else required,
        "additionalProperties": False,
    }


_POINT = _obj({"text": _S, "citations": {"type": "array", "items": _S}})
_SOURCE = _obj({"name": _S, "kind": _S, "url": _nullable(_URI)})
_CARD = _obj(
    {
        "title": _S,
        "hook": _S,
        "tldr": _obj({"what_changed": _S, "why_it_matters": _S, "what_to_do_next": _S}),
        "key_takeaways": {"type": "array", "items": {"$ref": "#/$defs/point"}},
        "technical_deep_dive": {"type": "array", "items": {"$ref": "#/$defs/point"}},
        "future_implications": {"type": "array", "items": {"$ref": "#/$defs/point"}},
    }
)
_ITEM = _obj(
    {
        "id": {**_S, "description": "Stable story id; never changes."},
        "permalink": {**_URI, "description": "The story's page on this site; never changes."},
        "api_url": _URI,
        "url": {**_nullable(_URI), "description": "The original article."},
        "title": _S,
        "original_title": _nullable(_S),
        "hook": _S,
        "source": _nullable({"$ref": "#/$defs/source"}),
        "author": _nullable(_S),
        "published_at": {
            **_TIME,
            "description": "When the source published it; `aggregator export --since` "
            "filters on this.",
        },
        "updated_at": {
            **_TIME,
            "description": "When the card last changed; `aggregator export --updated-since` "
            "filters on this (poll with your last read time to get what changed).",
        },
        "week": _WEEK,
        "recap_url": _URI,
        "topics": {
            "type": "array",
            "items": _obj(
                {"slug": _S, "name": _S, "score": {"type": "number", "minimum": 0, "maximum": 1}}
            ),
        },
        "timeliness": {
            "enum": ["time-bound", "evergreen"],
            "description": "time-bound suits a news peg; evergreen suits a longer take.",
        },
        "kind": {
            **_nullable({"enum": list(KINDS)}),
            "description": "What the piece is (1.1); null for cards written before 1.1.",
        },
        "entities": {"type": "array", "items": _S},
        "typed_entities": {
            "type": "array",
            "items": _obj({"name": _S, "type": {"enum": list(ENTITY_TYPES)}}),
            "description": "Named entities with their type (1.1); aliases merged.",
        },
        "engagement": _nullable(
            _obj(
                {
                    "score": _nullable({"type": "integer"}),
                    "comments": _nullable({"type": "integer"}),
                    "discussion_url": _nullable(_URI),
                    "discussions": {"type": "integer", "minimum": 1},
                }
            )
        ),
        "coverage": _obj(
            {
                "item_count": {"type": "integer", "minimum": 0},
                "source_count": {"type": "integer", "minimum": 0},
                "sources": {
                    "type": "array",
                    "items": _obj(
                        {
                            "name": _S,
                            "kind": _S,
                            "url": _nullable(_URI),
                            "item_url": _nullable(_URI),
                            "title": _S,
                            "published_at": _TIME,
                            "joined_by": {
                                **_nullable(
                                    _obj(
                                        {
                                            "kind": {
                                                "enum": [
                                                    "near-duplicate",
                                                    "same-event",
                                                    "url",
                                                    "content-hash",
                                                ]
                                            },
                                            "score": {"type": "number"},
                                            "matched_item_url": _nullable(_URI),
                                            "matched_title": _nullable(_S),
                                        }
                                    )
                                ),
                                "description": "Why this item joined the story (API 1.1); "
                                "null for the item that founded it.",
                            },
                        },
                        # joined_by is new in 1.1: records written by 1.0 lack it.
                        required=["name", "kind", "url", "item_url", "title", "published_at"],
                    ),
                },
            }
        ),
        "first_seen_at": {
            **_nullable(_TIME),
            "description": "When the story's first item reached this site (1.1).",
        },
        "momentum": _nullable(
            {
                **_obj(
                    {
                        "window_hours": {"type": "integer", "minimum": 1},
                        "as_of": _TIME,
                        "sources": {"type": "integer", "minimum": 0},
                        "items": {"type": "integer", "minimum": 0},
                        "score": _nullable({"type": "integer"}),
                        "comments": _nullable({"type": "integer"}),
                    }
                ),
                "description": "Sources, items and engagement the story gained in the "
                "window_hours ending at as_of, its latest item (1.1). Compare as_of with now. "
                "Engagement is what items first seen in the window carry; gains on older "
                "items are not tracked.",
            }
        ),
        "related": {"type": "array", "items": _S, "description": "Ids of related earlier stories."},
        "mode": {"enum": ["llm", "extractive"]},
        "grounded_ratio": {"type": "number", "minimum": 0, "maximum": 1},
        "generation": _obj(
            {
                "mode": {"enum": ["llm", "extractive"]},
                "model": _nullable(_S),
                "prompt_name": _nullable(_S),
                "prompt_version": _nullable(_S),
                "content_hash": _S,
                "fallback_reason": {
                    **_nullable(_S),
                    "description": "Why this extractive card stands in for the model's (1.2): "
                    "the model's failure or a pending Batch API answer; the model's card "
                    "replaces it when it comes. Null for a model's card, for a site run "
                    "offline, and in records written before 1.2.",
                },
            },
            # fallback_reason is new in 1.2: records written by 1.1 lack it.
            required=["mode", "model", "prompt_name", "prompt_version", "content_hash"],
        ),
        "card": {"$ref": "#/$defs/card"},
        "basis": {
            **_nullable({"enum": ["full_text", "feed_excerpt", "title_only"]}),
            "description": "What the card was written from (null: written before 1.1).",
        },
        "basis_words": {
            **_nullable({"type": "integer", "minimum": 0}),
            "description": "Words in the text the card was written from.",
        },
        "discussion": {
            **_nullable(
                _obj(
                    {
                        "points": {
                            "type": "array",
                            "items": _obj(
                                {
                                    "text": _S,
                                    "quote": _S,
                                    "comment_url": _nullable(_URI),
                                    "score": {"type": "integer"},
                                }
                            ),
                        },
                        "disputes": {"type": "boolean"},
                    }
                )
            ),
            "description": "Comments that add facts, quoted verbatim; never part of the card.",
        },
        # API 1.1: a developing story's revisions and corrections (issue 17).
        "revision": {"type": "integer", "minimum": 1, "description": "The card's revision."},
        "revisions": {
            "type": "array",
            "items": _obj(
                {
                    "revision": {"type": "integer", "minimum": 1},
                    "at": _TIME,
                    "reason": {
                        "enum": ["first", "new_sources", "correction", "retraction", "resummarized"]
                    },
                    "summary": _S,
                }
            ),
        },
        "whats_new": {
            "type": "array",
            "description": "What the latest new sources added.",
            "items": _obj(
                {
                    "text": _S,
                    "citations": {"type": "array", "items": _S},
                    "source": _obj({"name": _S, "url": _nullable(_URI)}),
                    "at": _nullable(_TIME),
                }
            ),
        },
        "corrections": {
            "type": "array",
            "items": _obj(
                {
                    "revision": {"type": "integer", "minimum": 1},
                    "at": _TIME,
                    "note": _S,
                    "kind": {"enum": ["correction", "retraction"]},
                }
            ),
        },
    }
)
_SITE = _obj({"title": _S, "url": _URI, "schema": _URI})
_ITEMS = {"type": "array", "items": {"$ref": "#/$defs/item"}}


def _doc(kind: str, props: dict[str, Any]) -> dict[str, Any]:
    return _obj(
        {
            "version": {"const": API_VERSION},
            "kind": {"const": kind},
            "site": {"$ref": "#/$defs/site"},
            **props,
        }
    )


def api_schema(base_url: str) -> dict[str, Any]:
    """Return the schema describing api/items.json, api/weeks/*, api/items/*, api/topics/*."""
    week_ref = _obj(
        {
            "week": _WEEK,
            "url": _URI,
            "count": {"type": "integer"},
            "updated_at": _TIME,
            "recap_url": _URI,
        }
    )
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"{base_url}api/schema.json",
        "title": "Planner API",
        "description": "Every JSON file under api/. Read api/items.json for the newest stories; "
        "a week file holds all of a week's stories; compare updated_at to your last read.",
        "oneOf": [{"$ref": f"#/$defs/{k}"} for k in ("index", "week", "topic", "item_file")],
        "$defs": {
            "site": _SITE,
            "source": _SOURCE,
            "point": _POINT,
            "card": _CARD,
            "item": _ITEM,
            "index": _doc(
                "index",
                {
                    "updated_at": _nullable(_TIME),
                    "total": {"type": "integer"},
                    "count": {"type": "integer"},
                    "items": _ITEMS,
                    "weeks": {"type": "array", "items": week_ref},
                    "topics": {
                        "type": "array",
                        "items": _obj(
                            {
                                "slug": _S,
                                "name": _S,
                                "url": _URI,
                                "feed_url": _URI,
                                "count": {"type": "integer"},
                            }
                        ),
                    },
                },
            ),
            "week": _doc(
                "week",
                {
                    "week": _WEEK,
                    "updated_at": _nullable(_TIME),
                    "count": {"type": "integer"},
                    "recap_url": _URI,
                    "previous_url": _nullable(_URI),
                    "next_url": _nullable(_URI),
                    "items": _ITEMS,
                },
            ),
            "topic": _doc(
                "topic",
                {
                    "topic": _obj({"slug": _S, "name": _S, "description": _S}),
                    "updated_at": _nullable(_TIME),
                    "total": {"type": "integer"},
                    "count": {"type": "integer"},
                    "feed_url": _URI,
                    "items": _ITEMS,
                },
            ),
            "item_file": _doc("item", {"item": {"$ref": "#/$defs/item"}}),
        },
    }
