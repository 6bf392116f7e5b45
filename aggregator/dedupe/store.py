"""The dedupe stage's stories and database work: plain rows in, bulk Core statements out.

A run can place 20,000 items (a backlog after an outage); ORM objects per item and per
story cost more than the matching itself, so this module never loads any.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import bindparam, case, insert, or_, select, update
from sqlalchemy.orm import Session

from aggregator.db.claims import CHUNK
from aggregator.db.models import Article, Item, ItemJoin, Source, Story, StoryRelation
from aggregator.dedupe.index import Signature


class ItemRow(NamedTuple):
    """What placing one item needs to know about it, its article and its source."""

    id: int
    source_id: int
    guid_hash: str
    title: str | None
    canonical_url: str | None
    published_at: datetime
    engagement: dict[str, Any] | None
    story_id: int | None
    source: str
    text: str | None
    article_title: str | None
    content_hash: str | None
    word_count: int | None
    content_html: str | None  # feed HTML, loaded only for items without article text
    summary: str | None  # likewise


class StoryRow(NamedTuple):
    """A stored story's fields that matching and joining read."""

    id: int
    title: str
    published_at: datetime
    week: str
    item_count: int
    primary_item_id: int | None
    signature: list[Any] | None


@dataclass(slots=True, eq=False)  # eq=False: stories compare by identity
class StoryState:
    """A story as this run knows it, with what this run added to it."""

    id: int | None  # None until a new story is inserted
    title: str
    published_at: datetime
    week: str
    item_count: int
    primary_item_id: int | None
    stored_members: int  # member signatures already in the stored signature JSON
    sources: set[int] = field(default_factory=set)
    topics: set[str] = field(default_factory=set)
    members: list[Signature] = field(default_factory=list)  # wordings to store
    # New items that ranked better than every earlier new item, in order: which of them
    # becomes primary depends on the stored primary's rank, read once at the end.
    contenders: list[tuple[tuple, int, str]] = field(default_factory=list)
    items: list[int] = field(default_factory=list)  # items placed here by this run
    uid: str = ""  # new stories only, like slug and founder
    slug: str = ""
    founder: str = ""  # "source id:guid hash" of the first item, which the uid derives from


def header(signature: list[Any] | None) -> dict[str, Any]:
    """Return the header of stored signature JSON (version and topics)."""
    sig = signature or []
    return sig[0] if sig and isinstance(sig[0], dict) and "v" in sig[0] else {"v": 1}


def members(signature: list[Any] | None) -> list[Signature]:
    """Return the member signatures (wordings) kept in stored signature JSON."""
    return [Signature.from_json(m) for m in (signature or [])[1:] if isinstance(m, dict)]


def chunks(ids: Sequence[Any]) -> Iterator[Sequence[Any]]:
    """Return successive slices of ids short enough for one IN (...) list."""
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]


def load_items(session: Session, ids: Sequence[int]) -> list[ItemRow]:
    """Return the rows of the items with these ids (deleted items are missing)."""
    no_text = or_(Article.text.is_(None), Article.text == "")
    query = (
        select(
            Item.id,
            Item.source_id,
            Item.guid_hash,
            Item.title,
            Item.canonical_url,
            Item.published_at,
            Item.engagement,
            Item.story_id,
            Source.name,
            Article.text,
            Article.title,
            Article.content_hash,
            Article.word_count,
            # Feed HTML can be long and is rarely needed: most items have article text.
            case((no_text, Item.content_html), else_=None),
            case((no_text, Item.summary), else_=None),
        )
        .join(Source, Source.id == Item.source_id)
        .outerjoin(Article, Article.item_id == Item.id)
    )
    rows: list[ItemRow] = []
    for chunk in chunks(ids):
        rows += [ItemRow(*row) for row in session.execute(query.where(Item.id.in_(chunk)))]
    return rows


def stories_since(session: Session, since: datetime) -> Iterator[StoryRow]:
    """Return the stories published since a time, earliest first."""
    query = (
        select(
            Story.id,
            Story.title,
            Story.published_at,
            Story.week,
            Story.item_count,
            Story.primary_item_id,
            Story.signature,
        )
        .where(Story.published_at >= since)
        .order_by(Story.published_at)
    )
    for row in session.execute(query):
        yield StoryRow(*row)


def story_items_since(session: Session, since: datetime) -> Iterator[tuple[Any, ...]]:
    """Return (story id, source id, canonical URL, published, content hash, words, item id)
    per item of the stories published since a time."""
    query = (
        select(
            Item.story_id,
            Item.source_id,
            Item.canonical_url,
            Item.published_at,
            Article.content_hash,
            Article.word_count,
            Item.id,
        )
        .join(Story, Story.id == Item.story_id)
        .outerjoin(Article, Article.item_id == Item.id)
        .where(Story.published_at >= since)
    )
    yield from (tuple(row) for row in session.execute(query))


def primary_items(session: Session, ids: Sequence[int]) -> list[tuple[Any, ...]]:
    """Return (item id, source name, engagement, published) for the items with these ids."""
    query = select(Item.id, Source.name, Item.engagement, Item.published_at).join(
        Source, Source.id == Item.source_id
    )
    out: list[tuple[Any, ...]] = []
    for chunk in chunks(ids):
        out += [tuple(row) for row in session.execute(query.where(Item.id.in_(chunk)))]
    return out


def taken_uids(session: Session, uids: Sequence[str]) -> set[str]:
    """Return which of these story uids exist already."""
    taken: set[str] = set()
    for chunk in chunks(uids):
        taken |= set(session.scalars(select(Story.uid).where(Story.uid.in_(chunk))))
    return taken


def _signatures_of(session: Session, ids: Sequence[int]) -> dict[int, list[Any]]:
    """Return the stored signature JSON of the stories with these ids."""
    out: dict[int, list[Any]] = {}
    for chunk in chunks(ids):
        query = select(Story.id, Story.signature).where(Story.id.in_(chunk))
        out.update((story_id, sig or []) for story_id, sig in session.execute(query))
    return out


INSERT_BATCH = 1000  # new stories per INSERT: their signature JSON is built per batch


def signature_json(stored: list[Any], story: StoryState) -> list[Any]:
    """Return a story's signature JSON: header with its topics, stored and new wordings."""
    head = dict(header(stored))
    head["topics"] = sorted(set(head.get("topics", [])) | story.topics)
    return [head, *stored[1:], *(sig.to_json() for sig in story.members)]


# The story columns a run sets (uid and slug are set once, when a story is created).
SET_COLUMNS = (
    "title",
    "published_at",
    "week",
    "item_count",
    "source_count",
    "primary_item_id",
    "signature",
)


def _columns(story: StoryState, stored: list[Any]) -> dict[str, Any]:
    """Return the SET_COLUMNS of a story, its signature built on the stored JSON."""
    values = (
        story.title,
        story.published_at,
        story.week,
        story.item_count,
        len(story.sources),
        story.primary_item_id,
        signature_json(stored, story),
    )
    return dict(zip(SET_COLUMNS, values, strict=True))


def insert_new(session: Session, new: list[StoryState]) -> None:
    """Insert new stories in batches and give each its id."""
    table = Story.__table__
    stmt = insert(table).returning(table.c.id, sort_by_parameter_order=True)
    for start in range(0, len(new), INSERT_BATCH):
        batch = new[start : start + INSERT_BATCH]
        rows = [{"uid": s.uid, "slug": s.slug, **_columns(s, [])} for s in batch]
        for story, story_id in zip(batch, session.execute(stmt, rows).scalars(), strict=True):
            story.id = story_id


def update_joined(session: Session, joined: list[StoryState]) -> None:
    """Rewrite stored stories that items joined: counts, date, primary, title, signature."""
    stored = _signatures_of(session, [s.id for s in joined if s.id is not None])
    params = [
        {"story": s.id, **{f"new_{k}": v for k, v in _columns(s, stored[s.id]).items()}}
        for s in joined
        if s.id is not None
    ]
    if params:
        table = Story.__table__
        # Bind names must differ from the names of the columns an UPDATE sets.
        values = {name: bindparam(f"new_{name}") for name in SET_COLUMNS}
        stmt = update(table).where(table.c.id == bindparam("story")).values(values)
        session.execute(stmt, params)


def set_item_stories(session: Session, placed: Iterable[tuple[int, int]]) -> None:
    """Point items at their stories, from (item id, story id) pairs."""
    params = [{"item": item_id, "story": story_id} for item_id, story_id in placed]
    if params:
        table = Item.__table__
        stmt = update(table).where(table.c.id == bindparam("item"))
        session.execute(stmt.values(story_id=bindparam("story")), params)


def insert_joins(session: Session, joins: list[dict[str, Any]]) -> None:
    """Store why items joined their stories: item_id, story_id, joined_by, score,
    matched_item_id per row."""
    if joins:
        session.execute(insert(ItemJoin.__table__), joins)


def insert_relations(session: Session, pairs: dict[tuple[int, int], float]) -> None:
    """Store related stories from (story id, related story id) -> score."""
    if pairs:
        session.execute(
            insert(StoryRelation.__table__),
            [{"story_id": a, "related_story_id": b, "score": s} for (a, b), s in pairs.items()],
        )
