"""The dedupe stage's database work in bulk: plain rows in, Core statements out.

A run can place 20,000 items (a backlog after an outage); ORM objects per item and per
story cost more than the matching itself, so this module never loads any.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import bindparam, case, insert, or_, select, update
from sqlalchemy.orm import Session

from aggregator.db.claims import CHUNK
from aggregator.db.models import Article, Item, Source, Story, StoryRelation


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


def chunks(ids: Sequence[int]) -> Iterator[Sequence[int]]:
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
    """Return (story id, source id, canonical URL, published, content hash, words) per item
    of the stories published since a time."""
    query = (
        select(
            Item.story_id,
            Item.source_id,
            Item.canonical_url,
            Item.published_at,
            Article.content_hash,
            Article.word_count,
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


def signatures_of(session: Session, ids: Sequence[int]) -> dict[int, list[Any]]:
    """Return the stored signature JSON of the stories with these ids."""
    out: dict[int, list[Any]] = {}
    for chunk in chunks(ids):
        query = select(Story.id, Story.signature).where(Story.id.in_(chunk))
        out.update((story_id, sig or []) for story_id, sig in session.execute(query))
    return out


def taken_uids(session: Session, uids: Sequence[str]) -> set[str]:
    """Return which of these story uids exist already."""
    taken: set[str] = set()
    for start in range(0, len(uids), CHUNK):
        chunk = uids[start : start + CHUNK]
        taken |= set(session.scalars(select(Story.uid).where(Story.uid.in_(chunk))))
    return taken


def insert_stories(session: Session, rows: list[dict[str, Any]]) -> list[int]:
    """Insert stories (column name -> value); return their new ids in the order given."""
    if not rows:
        return []
    table = Story.__table__
    stmt = insert(table).returning(table.c.id, sort_by_parameter_order=True)
    return list(session.execute(stmt, rows).scalars())


def set_item_stories(session: Session, placed: Iterable[tuple[int, int]]) -> None:
    """Point items at their stories, from (item id, story id) pairs."""
    params = [{"item": item_id, "story": story_id} for item_id, story_id in placed]
    if params:
        table = Item.__table__
        stmt = update(table).where(table.c.id == bindparam("item"))
        session.execute(stmt.values(story_id=bindparam("story")), params)


STORY_FIELDS = (
    "title",
    "published_at",
    "week",
    "item_count",
    "source_count",
    "primary_item_id",
    "signature",
)


def update_stories(session: Session, rows: list[dict[str, Any]]) -> None:
    """Rewrite the STORY_FIELDS of existing stories, from dicts holding them and "id"."""
    if not rows:
        return
    table = Story.__table__
    # Bind names must differ from column names in an UPDATE's SET clause.
    values = {name: bindparam(f"new_{name}") for name in STORY_FIELDS}
    stmt = update(table).where(table.c.id == bindparam("story")).values(values)
    params = [
        {"story": row["id"], **{f"new_{name}": row[name] for name in STORY_FIELDS}} for row in rows
    ]
    session.execute(stmt, params)


def insert_relations(session: Session, pairs: dict[tuple[int, int], float]) -> None:
    """Store related stories from (story id, related story id) -> score."""
    if pairs:
        session.execute(
            insert(StoryRelation.__table__),
            [{"story_id": a, "related_story_id": b, "score": s} for (a, b), s in pairs.items()],
        )
