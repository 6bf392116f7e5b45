"""Plain data the site is built from: the pipeline runner loads it, the publisher never sees a DB."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any

from aggregator.publish.sanitize import clean_text, clean_tree


@dataclass(frozen=True, slots=True)
class TopicInfo:
    """A configured topic."""

    slug: str
    name: str
    description: str = ""


@dataclass(frozen=True, slots=True)
class SourceInfo:
    """A source as shown on the site; `slug` names its page under sources/."""

    name: str
    kind: str
    url: str | None
    slug: str = ""


@dataclass(slots=True)
class StoryRow:
    """What a listing needs about a story; `path` and `fp` are filled by the publisher."""

    id: int
    uid: str
    slug: str
    title: str
    hook: str
    published_at: datetime
    week: str
    source: str
    topics: tuple[tuple[str, float], ...]
    mode: str
    updated_at: datetime
    content_hash: str
    item_count: int = 1
    source_count: int = 1
    path: str = ""
    fp: str = ""
    iso: str = ""  # published_at as ISO 8601 UTC, formatted once per build
    day: str = ""  # published_at as a local date label
    # A cheap summary of the stored card and items (times, sizes, counts): when it and the
    # listing fields are unchanged the story's files are not rebuilt and its card not loaded.
    probe: str = ""
    related: tuple[int, ...] = ()


@dataclass(slots=True)
class ItemRow:
    """One item that covered a story, with its source."""

    id: int
    source: str
    source_kind: str
    source_url: str | None
    url: str | None
    title: str
    author: str | None
    published_at: datetime
    kind: str
    engagement: dict[str, Any]
    collected_at: datetime | None = None  # when we first saw the item
    # Why it joined the story (joined_by, score, matched_item_id); None for the founder.
    joined: tuple[str, float, int | None] | None = None


@dataclass(slots=True)
class CardMeta:
    """How a card was made."""

    mode: str
    model: str | None
    prompt_name: str | None
    prompt_version: str | None
    grounded_ratio: float
    content_hash: str
    updated_at: datetime
    fallback_reason: str | None = None  # why an extractive card stands in for the model's


@dataclass
class StoryDetail:
    """Everything an item page and an API record need; the card JSON is parsed only on demand."""

    row: StoryRow
    card_raw: str
    meta: CardMeta
    items: list[ItemRow]
    related: list[int] = field(default_factory=list)
    # Revisions (oldest first) and corrections of a developing story (publish/history.py).
    history: dict[str, Any] = field(default_factory=dict)

    @cached_property
    def card(self) -> dict[str, Any]:
        """Return the card as a dict ({} when the stored JSON is unreadable)."""
        try:
            value = json.loads(self.card_raw)
        except (TypeError, ValueError):
            return {}
        if not isinstance(value, dict):
            return {}
        # json.dumps writes control and non-ASCII characters as \\u escapes, so a pure-ASCII
        # text without any escape holds nothing clean_text would change: skip the walk.
        card = (
            value if self.card_raw.isascii() and "\\u" not in self.card_raw else clean_tree(value)
        )
        for key in ("title", "hook"):  # one-line fields: no newlines in headings and meta tags
            card[key] = clean_text(card.get(key), single_line=True)
        return card


@dataclass(slots=True)
class RecapRow:
    """The latest revision of one week's recap."""

    week: str
    revision: int
    title: str
    recap: dict[str, Any]
    mode: str
    model: str | None
    prompt_version: str | None
    created_at: datetime
    story_ids: list[int]


@dataclass(slots=True)
class SiteConfig:
    """Site settings the publisher needs (from ctx.settings)."""

    title: str
    description: str
    base_url: str
    language: str = "en"
    timezone: str = "UTC"
    items_per_page: int = 20
    search: bool = True
    topics: list[TopicInfo] = field(default_factory=list)
    subscribe_email: str | None = None


DetailLoader = Callable[[list[int]], list[StoryDetail]]


@dataclass
class SiteInput:
    """The whole site's data: light rows for every story plus a loader for full details."""

    config: SiteConfig
    stories: list[StoryRow]
    sources: list[SourceInfo]
    recaps: dict[str, RecapRow]
    load_details: DetailLoader
    # The newest card revisions and corrections, newest first (feeds/updates.xml).
    changes: list[dict[str, Any]] = field(default_factory=list)
